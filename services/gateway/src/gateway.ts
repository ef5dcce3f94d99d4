import type { KubeConfig } from '@kubernetes/client-node';
import { TenantKeys } from '@tenantry/identity';
import { createLogger, type Logger, type LogLevel } from '@tenantry/logger';
import { buildService, type ServiceInstance } from '@tenantry/service-kit';
import { apiDocsRoutes } from './api-docs.ts';
import { PlanLimits } from './plan-limits.ts';
import { proxyRoutes } from './proxy.ts';
import { serviceHealthRoute } from './service-health.ts';
import { TenantRoutes } from './tenant-routes.ts';
import { DEFAULT_UPSTREAMS, SERVICE_NAMES, type Upstreams } from './upstreams.ts';

export interface GatewayOptions {
  /** Credentials to follow the platform's Ingresses, signing-key Secrets and Plans with. */
  kc: KubeConfig;
  /** The platform namespace, where the operator writes tenant Ingresses and signing-key Secrets. */
  namespace: string;
  upstreams: Upstreams;
  corsOrigins?: readonly string[];
  /** The proxies in front (addresses or CIDRs) whose X-Forwarded-For/-Proto to believe; none by default. */
  trustedProxies?: readonly string[];
  logger?: Logger;
  logLevel?: LogLevel;
  /** How long a service may take to send response headers (504 UPSTREAM_TIMEOUT after that). */
  upstreamTimeoutMs?: number;
  /** How long each service's `/health` and `/openapi.json` may take, for `/api/health` and `/docs`. */
  upstreamCheckTimeoutMs?: number;
  /** The rate limit of a tenant whose plan the gateway does not know. */
  fallbackRequestsPerMinute?: number;
  /** Runs once the gateway has closed and stopped following the platform (telemetry shutdown). */
  onClose?: () => Promise<void>;
}

export const DEFAULT_UPSTREAM_TIMEOUT_MS = 60_000;
export const DEFAULT_UPSTREAM_CHECK_TIMEOUT_MS = 2_000;
/** The free plan's figure (the seeds'): an unknown plan gets the least a plan gives. */
export const DEFAULT_FALLBACK_REQUESTS_PER_MINUTE = 100;

function validate(options: GatewayOptions): void {
  for (const service of SERVICE_NAMES) {
    const upstream = options.upstreams[service];
    if (upstream === null) continue; // not deployed
    if (!URL.canParse(upstream) || !/^https?:$/.test(new URL(upstream).protocol)) {
      throw new TypeError(
        `buildGateway: upstreams.${service} must be an http(s) URL such as "${DEFAULT_UPSTREAMS[service]}" or null (not deployed), got "${upstream}"`,
      );
    }
  }
  for (const name of ['upstreamTimeoutMs', 'upstreamCheckTimeoutMs', 'fallbackRequestsPerMinute'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      throw new TypeError(`buildGateway: ${name} must be a positive integer, got ${value}`);
    }
  }
}

/**
 * The gateway, ready to listen (or to `inject`): it follows the platform's tenants before it returns,
 * so its first request is already routed. `close()` stops following them.
 */
export async function buildGateway(options: GatewayOptions): Promise<ServiceInstance> {
  validate(options);
  const { kc, namespace, upstreams } = options;
  const logger = options.logger ?? createLogger({ service: 'gateway', level: options.logLevel });
  const started = await Promise.allSettled([
    TenantRoutes.start({ kc, namespace, logger }),
    PlanLimits.start({ kc, logger }),
    TenantKeys.start({ kc, namespace, logger }),
  ]);
  let closing: Promise<unknown> | undefined;
  const stopFollowing = () => {
    closing ??= Promise.all(
      started.map((result) => (result.status === 'fulfilled' ? result.value.close() : undefined)),
    );
    return closing;
  };
  const [routes, plans, keys] = started;
  if (routes.status === 'rejected' || plans.status === 'rejected' || keys.status === 'rejected') {
    await stopFollowing();
    const failed = started.find((result) => result.status === 'rejected');
    throw new Error('buildGateway: could not follow the platform resources', { cause: failed?.reason });
  }
  const checkTimeoutMs = options.upstreamCheckTimeoutMs ?? DEFAULT_UPSTREAM_CHECK_TIMEOUT_MS;

  try {
    return await buildService({
      name: 'gateway',
      config: {
        corsOrigins: options.corsOrigins ?? [],
        logLevel: options.logLevel,
        trustProxy: options.trustedProxies ?? [],
      },
      logger,
      routes: async (app) => {
        app.addHook('onClose', async () => {
          await stopFollowing();
          await options.onClose?.();
        });
        await app.register(serviceHealthRoute, { upstreams, timeoutMs: checkTimeoutMs });
        await app.register(apiDocsRoutes, { upstreams, timeoutMs: checkTimeoutMs });
        await app.register(proxyRoutes, {
          routes: routes.value,
          plans: plans.value,
          keys: keys.value,
          upstreams,
          upstreamTimeoutMs: options.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS,
          fallbackRequestsPerMinute:
            options.fallbackRequestsPerMinute ?? DEFAULT_FALLBACK_REQUESTS_PER_MINUTE,
        });
      },
    });
  } catch (error) {
    await stopFollowing();
    throw error;
  }
}
