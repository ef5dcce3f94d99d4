import { hostname } from 'node:os';
import { type StaticDecode, Type } from '@sinclair/typebox';
import { ConfigError, defineConfig, type Env, type LogLevel, logLevel, port, url } from '@tenantry/config';

export { ConfigError } from '@tenantry/config';

/** The operator's configuration, read and validated once from the environment (the only reader). */
export interface OperatorConfig {
  /**
   * Namespace of the platform: what services read (app credentials Secrets, public keys ConfigMaps,
   * Ingresses), Events and the leader Lease.
   */
  platformNamespace: string;
  /**
   * Namespace of the Secrets no service but auth may read: the tenants' private signing keys and
   * database owner credentials. Services are granted Secrets in the platform namespace, and RBAC
   * cannot narrow list/watch by name, so these must live elsewhere.
   */
  keysNamespace: string;
  /** Every tenant is reachable at `<name>.<baseDomain>`. */
  baseDomain: string;
  ingressClassName: string | undefined;
  /** TLS for the tenant Ingresses: the Secret holding a certificate for the hosts (e.g. a wildcard). */
  tlsSecretName: string | undefined;
  gateway: { serviceName: string; port: number };
  /** Superuser (or CREATEDB + CREATEROLE) URL of the PostgreSQL that holds tenant databases. */
  postgresAdminUrl: string;
  /** Host and port that services use to reach PostgreSQL, written into tenant Secrets. */
  postgresPublicHost: string;
  postgresPublicPort: number;
  kafkaBrokers: string[];
  /** Only Tenants matching this label selector are reconciled (sharding, canaries, tests). */
  tenantSelector: string | undefined;
  /** Tenants reconciled at once. */
  concurrency: number;
  /** Every tenant is reconciled at least this often, which repairs out-of-band drift. */
  resyncSeconds: number;
  leaderElection: { enabled: boolean; leaseName: string; identity: string };
  metricsPort: number;
  probesPort: number;
  logLevel: LogLevel;
  /** OTLP/HTTP collector (e.g. http://otel-collector:4318); the reconcile spans go nowhere without one. */
  otlpEndpoint: string | undefined;
}

const DNS_LABEL = '^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const DNS_NAME = '^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const BROKERS = '^[^:\\s,]+:\\d+(\\s*,\\s*[^:\\s,]+:\\d+)*$';
/** A listening port; 0 asks the system for a free one (tests). */
const listenPort = (fallback: number) => Type.Integer({ minimum: 0, maximum: 65_535, default: fallback });

/** Every variable the operator reads, with its default (docs/operator.md lists them). */
const operatorEnv = defineConfig(
  Type.Object({
    POSTGRES_ADMIN_URL: url({ secret: true, pattern: '^postgres(ql)?://', expectation: 'a postgres:// URL' }),
    KAFKA_BROKERS: Type.String({ pattern: BROKERS, expectation: 'host:port[,host:port...]' }),
    PLATFORM_NAMESPACE: Type.String({
      default: 'tenantry-system',
      pattern: DNS_LABEL,
      expectation: 'a namespace name (a DNS label)',
    }),
    /** Default: `<PLATFORM_NAMESPACE>-keys`. */
    KEYS_NAMESPACE: Type.Optional(
      Type.String({ pattern: DNS_LABEL, expectation: 'a namespace name (a DNS label)' }),
    ),
    TENANTRY_BASE_DOMAIN: Type.String({
      default: 'tenantry.localhost',
      pattern: DNS_NAME,
      expectation: 'a DNS name',
    }),
    TENANTRY_INGRESS_CLASS: Type.Optional(Type.String()),
    TENANTRY_TLS_SECRET: Type.Optional(Type.String()),
    TENANTRY_GATEWAY_SERVICE: Type.String({ default: 'tenantry-gateway', minLength: 1 }),
    TENANTRY_GATEWAY_PORT: port(4000),
    /** Default: the admin URL's host and port. */
    POSTGRES_PUBLIC_HOST: Type.Optional(Type.String({ minLength: 1 })),
    POSTGRES_PUBLIC_PORT: Type.Optional(port()),
    OPERATOR_TENANT_SELECTOR: Type.Optional(Type.String()),
    OPERATOR_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
    OPERATOR_RESYNC_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 300 }),
    OPERATOR_LEADER_ELECTION: Type.Boolean({ default: true }),
    OPERATOR_LEASE_NAME: Type.String({ default: 'tenantry-operator', minLength: 1 }),
    /** Default: `<hostname>-<pid>`; the chart sets the pod's name. */
    POD_NAME: Type.Optional(Type.String({ minLength: 1 })),
    OPERATOR_METRICS_PORT: listenPort(8080),
    OPERATOR_PROBES_PORT: listenPort(8081),
    LOG_LEVEL: logLevel(),
    OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(
      url({ pattern: '^https?://', expectation: 'an http(s) URL such as http://otel-collector:4318' }),
    ),
  }),
);
type OperatorEnv = StaticDecode<typeof operatorEnv.schema>;

/** Rules between variables, checked once each variable is valid on its own. */
function crossChecks(env: OperatorEnv): string[] {
  const keys = env.KEYS_NAMESPACE ?? `${env.PLATFORM_NAMESPACE}-keys`;
  const issues: string[] = [];
  if (keys === env.PLATFORM_NAMESPACE) {
    issues.push(
      `KEYS_NAMESPACE must differ from PLATFORM_NAMESPACE ("${env.PLATFORM_NAMESPACE}"): services may read Secrets there, and private keys must be out of their reach`,
    );
  } else if (!new RegExp(DNS_LABEL).test(keys)) {
    issues.push(
      `KEYS_NAMESPACE must be a namespace name (a DNS label), got "${keys}" (the default, from PLATFORM_NAMESPACE)`,
    );
  }
  return issues;
}

/** Reads the operator's configuration; throws one ConfigError listing every invalid variable. */
export function loadOperatorConfig(source: Env = process.env): OperatorConfig {
  // The environment, parsed: every name below is a variable the operator reads.
  const env = operatorEnv.load(source);
  const issues = crossChecks(env);
  if (issues.length > 0) throw new ConfigError(issues);

  const adminUrl = new URL(env.POSTGRES_ADMIN_URL);
  // CloudNativePG's superuser Secret names the database `*` (any); the operator works from `postgres`.
  if (adminUrl.pathname === '' || adminUrl.pathname === '/' || adminUrl.pathname === '/*') {
    adminUrl.pathname = '/postgres';
  }
  return {
    platformNamespace: env.PLATFORM_NAMESPACE,
    keysNamespace: env.KEYS_NAMESPACE ?? `${env.PLATFORM_NAMESPACE}-keys`,
    baseDomain: env.TENANTRY_BASE_DOMAIN,
    ingressClassName: env.TENANTRY_INGRESS_CLASS,
    tlsSecretName: env.TENANTRY_TLS_SECRET,
    gateway: { serviceName: env.TENANTRY_GATEWAY_SERVICE, port: env.TENANTRY_GATEWAY_PORT },
    postgresAdminUrl: adminUrl.toString(),
    postgresPublicHost: env.POSTGRES_PUBLIC_HOST ?? adminUrl.hostname,
    postgresPublicPort: env.POSTGRES_PUBLIC_PORT ?? Number(adminUrl.port || 5432),
    kafkaBrokers: commaListOf(env.KAFKA_BROKERS),
    tenantSelector: env.OPERATOR_TENANT_SELECTOR,
    concurrency: env.OPERATOR_CONCURRENCY,
    resyncSeconds: env.OPERATOR_RESYNC_SECONDS,
    leaderElection: {
      enabled: env.OPERATOR_LEADER_ELECTION,
      leaseName: env.OPERATOR_LEASE_NAME,
      identity: env.POD_NAME ?? `${hostname()}-${process.pid}`,
    },
    metricsPort: env.OPERATOR_METRICS_PORT,
    probesPort: env.OPERATOR_PROBES_PORT,
    logLevel: env.LOG_LEVEL,
    otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
  };
}

function commaListOf(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
