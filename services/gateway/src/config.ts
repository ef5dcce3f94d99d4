import { type StaticDecode, Type } from '@sinclair/typebox';
import { commaList, type Env, loadConfig, logLevel, port, url } from '@tenantry/config';
import {
  DEFAULT_FALLBACK_REQUESTS_PER_MINUTE,
  DEFAULT_UPSTREAM_CHECK_TIMEOUT_MS,
  DEFAULT_UPSTREAM_TIMEOUT_MS,
} from './gateway.ts';
import {
  DEFAULT_UPSTREAMS,
  SERVICE_NAMES,
  type ServiceName,
  type Upstreams,
  upstreamVariable,
} from './upstreams.ts';

/** The gateway's configuration: the only reader of the environment in this program. */
/** The value of a service URL variable for a service that is not deployed. */
export const NOT_DEPLOYED = 'none';

/**
 * A service's http(s) base URL, or `none` when the service is not deployed (an empty variable means
 * unset, hence the default, as for every variable).
 */
function upstream(defaultUrl: string) {
  return Type.String({
    default: defaultUrl,
    pattern: `^${NOT_DEPLOYED}$|^https?://[^\\s]+$`,
    expectation: `an http(s) URL, or "${NOT_DEPLOYED}" when the service is not deployed`,
  });
}

function upstreamVariables() {
  return Object.fromEntries(
    SERVICE_NAMES.map((service) => [upstreamVariable(service), upstream(DEFAULT_UPSTREAMS[service])]),
  ) as Record<`${Uppercase<ServiceName>}_URL`, ReturnType<typeof upstream>>;
}

const schema = Type.Object({
  PORT: port(4000),
  LOG_LEVEL: logLevel(),
  /** Where the operator writes tenant Ingresses and signing-key Secrets. */
  PLATFORM_NAMESPACE: Type.String({ default: 'tenantry-system', minLength: 1 }),
  /** A kubeconfig file; in a pod, unset: the service account's credentials are used. */
  KUBECONFIG: Type.Optional(Type.String({ minLength: 1 })),
  /** OTLP/HTTP collector, e.g. http://otel-collector:4318; traces are not exported when unset. */
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(url()),
  /** `<SERVICE>_URL` for each routed service of the registry. */
  ...upstreamVariables(),
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
  const urls = config as unknown as Record<string, string>;
  return Object.fromEntries(
    SERVICE_NAMES.map((service) => {
      const url = urls[upstreamVariable(service)];
      return [service, url === undefined || url === NOT_DEPLOYED ? null : url];
    }),
  ) as Record<ServiceName, string | null>;
}
