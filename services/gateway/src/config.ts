import { type StaticDecode, Type } from '@sinclair/typebox';
import { commaList, type Env, loadConfig, logLevel, port, url } from '@tenantry/config';
import {
  DEFAULT_FALLBACK_REQUESTS_PER_MINUTE,
  DEFAULT_UPSTREAM_CHECK_TIMEOUT_MS,
  DEFAULT_UPSTREAM_TIMEOUT_MS,
} from './gateway.ts';
import { DEFAULT_UPSTREAMS, type Upstreams } from './upstreams.ts';

/** The gateway's configuration: the only reader of the environment in this program. */
const schema = Type.Object({
  PORT: port(4000),
  LOG_LEVEL: logLevel(),
  /** Where the operator writes tenant Ingresses and signing-key Secrets. */
  PLATFORM_NAMESPACE: Type.String({ default: 'tenantry-system', minLength: 1 }),
  /** A kubeconfig file; in a pod, unset: the service account's credentials are used. */
  KUBECONFIG: Type.Optional(Type.String({ minLength: 1 })),
  /** OTLP/HTTP collector, e.g. http://otel-collector:4318; traces are not exported when unset. */
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(url()),
  AUTH_URL: url({ default: DEFAULT_UPSTREAMS.auth }),
  USERS_URL: url({ default: DEFAULT_UPSTREAMS.users }),
  CHAT_URL: url({ default: DEFAULT_UPSTREAMS.chat }),
  BILLING_URL: url({ default: DEFAULT_UPSTREAMS.billing }),
  NOTIFICATIONS_URL: url({ default: DEFAULT_UPSTREAMS.notifications }),
  ANALYTICS_URL: url({ default: DEFAULT_UPSTREAMS.analytics }),
  /** Browser origins allowed to call the API (`https://app.acme.test,...`); none by default. */
  CORS_ORIGINS: commaList([]),
  /**
   * The proxies in front (the ingress controller's addresses or CIDRs, or proxy-addr's `loopback`,
   * `linklocal`, `uniquelocal`) whose X-Forwarded-For/-Proto to believe. Empty: nobody's, the client
   * is the TCP peer. The same variable as the services' (@tenantry/service-runtime).
   */
  TRUSTED_PROXIES: commaList([]),
  /** How long an upstream may take to send its response headers (streams may then run for ever). */
  UPSTREAM_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: DEFAULT_UPSTREAM_TIMEOUT_MS }),
  /** How long each upstream's `/health` and `/openapi.json` may take for `/api/health` and `/docs`. */
  UPSTREAM_CHECK_TIMEOUT_MS: Type.Integer({
    minimum: 50,
    maximum: 30_000,
    default: DEFAULT_UPSTREAM_CHECK_TIMEOUT_MS,
  }),
  /** The rate limit of a tenant whose plan this gateway does not know. */
  FALLBACK_REQUESTS_PER_MINUTE: Type.Integer({ minimum: 1, default: DEFAULT_FALLBACK_REQUESTS_PER_MINUTE }),
});

export type GatewayConfig = StaticDecode<typeof schema>;

export function loadGatewayConfig(env?: Env): GatewayConfig {
  return loadConfig(schema, env);
}

export function upstreamsOf(config: GatewayConfig): Upstreams {
  return {
    auth: config.AUTH_URL,
    users: config.USERS_URL,
    chat: config.CHAT_URL,
    billing: config.BILLING_URL,
    notifications: config.NOTIFICATIONS_URL,
    analytics: config.ANALYTICS_URL,
  };
}
