import { type StaticDecode, Type } from '@sinclair/typebox';
import { commaList, logLevel, port, url } from '@tenantry/config';
import type { ServiceConfig } from '@tenantry/service-kit';

/**
 * The environment every tenant-facing service reads, spread into the service's own config schema:
 *
 *   const config = loadConfig(Type.Object({ ...tenantServiceEnv(3001), TOKEN_TTL_SECONDS: ... }));
 *
 * KUBECONFIG is read by @kubernetes/client-node itself (in a pod: the service account instead).
 */
export function tenantServiceEnv(defaultPort: number) {
  return {
    PORT: port(defaultPort),
    LOG_LEVEL: logLevel(),
    /** Where the operator writes tenant Secrets and Ingresses. */
    PLATFORM_NAMESPACE: Type.String({ default: 'tenantry-system', minLength: 1 }),
    KAFKA_BROKERS: commaList(['localhost:9092']),
    /** Connections per tenant pool in this replica (see TenantDatabasesOptions). */
    DB_MAX_CONNECTIONS_PER_TENANT: Type.Integer({ minimum: 1, maximum: 100, default: 5 }),
    DB_MAX_TENANTS_OPEN: Type.Integer({ minimum: 1, maximum: 10_000, default: 200 }),
    CORS_ORIGINS: commaList([]),
    /** Addresses or CIDRs of the gateway, whose X-Forwarded-For names the client. */
    TRUSTED_PROXIES: commaList([]),
    /** OTLP/HTTP collector, e.g. http://otel-collector:4318; traces are not exported when empty. */
    OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(url()),
  };
}

const settingsSchema = Type.Object(tenantServiceEnv(0));
export type TenantServiceSettings = StaticDecode<typeof settingsSchema>;

/** The HTTP skeleton's part of the settings, for buildService's `config`. */
export function serviceConfig(
  settings: Pick<TenantServiceSettings, 'CORS_ORIGINS' | 'LOG_LEVEL' | 'TRUSTED_PROXIES'>,
): ServiceConfig {
  return {
    corsOrigins: settings.CORS_ORIGINS,
    logLevel: settings.LOG_LEVEL,
    trustProxy: settings.TRUSTED_PROXIES,
  };
}
