import { hostname } from 'node:os';

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
  logLevel: string;
}

export class ConfigError extends Error {}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`${name} is required`);
  return value;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

const DNS_LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function loadOperatorConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  let adminUrl: URL;
  try {
    adminUrl = new URL(required(env, 'POSTGRES_ADMIN_URL'));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    // Never echo the value: it carries a password.
    throw new ConfigError('POSTGRES_ADMIN_URL must be a postgres:// URL');
  }
  if (adminUrl.protocol !== 'postgres:' && adminUrl.protocol !== 'postgresql:') {
    throw new ConfigError(`POSTGRES_ADMIN_URL must be a postgres:// URL, got a ${adminUrl.protocol}// URL`);
  }
  // CloudNativePG's superuser Secret names the database `*` (any); the operator works from `postgres`.
  if (adminUrl.pathname === '' || adminUrl.pathname === '/' || adminUrl.pathname === '/*') {
    adminUrl.pathname = '/postgres';
  }
  const postgresAdminUrl = adminUrl.toString();
  const baseDomain = env.TENANTRY_BASE_DOMAIN ?? 'tenantry.localhost';
  if (!DNS_NAME.test(baseDomain))
    throw new ConfigError(`TENANTRY_BASE_DOMAIN must be a DNS name, got "${baseDomain}"`);
  const kafkaBrokers = required(env, 'KAFKA_BROKERS')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (kafkaBrokers.some((b) => !/^[^:\s]+:\d+$/.test(b))) {
    throw new ConfigError(`KAFKA_BROKERS must be host:port[,host:port...], got "${env.KAFKA_BROKERS}"`);
  }
  const platformNamespace = env.PLATFORM_NAMESPACE ?? 'tenantry-system';
  const keysNamespace = env.KEYS_NAMESPACE || `${platformNamespace}-keys`;
  if (!DNS_LABEL.test(keysNamespace)) {
    throw new ConfigError(`KEYS_NAMESPACE must be a namespace name (a DNS label), got "${keysNamespace}"`);
  }
  if (keysNamespace === platformNamespace) {
    throw new ConfigError(
      `KEYS_NAMESPACE must differ from PLATFORM_NAMESPACE ("${platformNamespace}"): services may read Secrets there, and private keys must be out of their reach`,
    );
  }
  return {
    platformNamespace,
    keysNamespace,
    baseDomain,
    ingressClassName: env.TENANTRY_INGRESS_CLASS || undefined,
    tlsSecretName: env.TENANTRY_TLS_SECRET || undefined,
    gateway: {
      serviceName: env.TENANTRY_GATEWAY_SERVICE ?? 'tenantry-gateway',
      port: integer(env, 'TENANTRY_GATEWAY_PORT', 4000, 1, 65535),
    },
    postgresAdminUrl,
    postgresPublicHost: env.POSTGRES_PUBLIC_HOST ?? adminUrl.hostname,
    postgresPublicPort: integer(env, 'POSTGRES_PUBLIC_PORT', Number(adminUrl.port || 5432), 1, 65535),
    kafkaBrokers,
    tenantSelector: env.OPERATOR_TENANT_SELECTOR || undefined,
    concurrency: integer(env, 'OPERATOR_CONCURRENCY', 4, 1, 64),
    resyncSeconds: integer(env, 'OPERATOR_RESYNC_SECONDS', 300, 1, 86_400),
    leaderElection: {
      enabled: env.OPERATOR_LEADER_ELECTION !== 'false',
      leaseName: env.OPERATOR_LEASE_NAME ?? 'tenantry-operator',
      identity: env.POD_NAME ?? `${hostname()}-${process.pid}`,
    },
    metricsPort: integer(env, 'OPERATOR_METRICS_PORT', 8080, 0, 65535),
    probesPort: integer(env, 'OPERATOR_PROBES_PORT', 8081, 0, 65535),
    logLevel: env.LOG_LEVEL ?? 'info',
  };
}
