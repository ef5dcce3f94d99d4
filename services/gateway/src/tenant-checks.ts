import rateLimit from '@fastify/rate-limit';
import { requestIdentity, TENANT_HEADER, type TenantKeys } from '@tenantry/identity';
import { HttpError } from '@tenantry/service-kit';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { GATEWAY_ERROR_CODES } from './error-codes.ts';
import type { PlanLimits } from './plan-limits.ts';
import { isPublicRoute } from './public-routes.ts';
import type { TenantRoute, TenantRoutes } from './tenant-routes.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenant of the request's Host; set by the first check, so never null past it. */
    tenantRoute: TenantRoute | null;
  }
}

export interface TenantChecksOptions {
  routes: TenantRoutes;
  plans: PlanLimits;
  keys: TenantKeys;
  /** The limit of a tenant whose plan is not (or not yet) known here. */
  fallbackRequestsPerMinute: number;
}

/** The limits are per minute (Plan.spec.rateLimit.requestsPerMinute). */
const RATE_LIMIT_WINDOW_MS = 60_000;
/** Counters kept (least recently used dropped first): well above the tenants one gateway serves. */
const RATE_LIMIT_COUNTERS = 100_000;
/** Internal headers only the gateway may set; a client's are dropped, whatever their value. */
const INTERNAL_HEADER_PREFIX = 'x-tenantry-';

/** An internal header: only the gateway may set one; a client's are dropped, whatever their value. */
export function isInternalHeader(name: string): boolean {
  return name.startsWith(INTERNAL_HEADER_PREFIX);
}

/** Drops every client-sent internal header and names the tenant the Host resolved to. */
export function setTenantHeader(headers: Record<string, unknown>, tenant: string): void {
  for (const name of Object.keys(headers)) {
    if (isInternalHeader(name)) delete headers[name];
  }
  headers[TENANT_HEADER] = tenant;
}

/**
 * The checks every proxied request passes, in this order, each answering with the standard error
 * body: the Host names a tenant (404 TENANT_NOT_FOUND) that is not suspended (503 TENANT_SUSPENDED);
 * the tenant is within its plan's rate limit (429 TOO_MANY_REQUESTS), which therefore also counts
 * requests refused below; the route is public or the bearer token is valid for that tenant (401
 * TOKEN_MISSING, TOKEN_INVALID, TOKEN_EXPIRED). WebSocket upgrades go through the same hooks.
 */
const tenantChecksImpl: FastifyPluginAsync<TenantChecksOptions> = async (app, options) => {
  const { routes, plans, keys, fallbackRequestsPerMinute } = options;
  // The tenant is bound to the request's logger below, from the Host.
  const identity = requestIdentity({ keys, bindTenantToLog: false });
  const unknownPlansLogged = new Set<string>();

  app.decorateRequest('tenantRoute', null);

  app.addHook('onRequest', (request, reply, done) => {
    const route = routes.lookup(request.headers.host);
    if (!route) {
      done(new HttpError(404, GATEWAY_ERROR_CODES.TENANT_NOT_FOUND, 'no tenant is served at this host'));
      return;
    }
    // No Retry-After: a suspension lasts until an operator lifts it, which no client can predict.
    if (route.suspended) {
      done(new HttpError(503, GATEWAY_ERROR_CODES.TENANT_SUSPENDED, 'this tenant is suspended'));
      return;
    }
    request.tenantRoute = route;
    // Both: Fastify's own "request completed" line is written through the reply's logger.
    const log = request.log.child({ tenant: route.tenant });
    request.log = log;
    reply.log = log;
    setTenantHeader(request.headers, route.tenant);
    done();
  });

  const requestsPerMinute = (request: FastifyRequest): number => {
    const plan = request.tenantRoute?.plan;
    const limit = plans.requestsPerMinute(plan);
    if (limit !== undefined) return limit;
    const planName = plan ?? '(none)';
    if (!unknownPlansLogged.has(planName)) {
      unknownPlansLogged.add(planName);
      request.log.warn(
        { plan: planName, requestsPerMinute: fallbackRequestsPerMinute },
        'the tenant plan is unknown to the gateway; applying the fallback rate limit',
      );
    }
    return fallbackRequestsPerMinute;
  };

  // enableDraftSpec: RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (IETF draft) instead of
  // the X-RateLimit-* names.
  await app.register(rateLimit, { global: false, enableDraftSpec: true });
  app.addHook(
    'onRequest',
    app.rateLimit({
      timeWindow: RATE_LIMIT_WINDOW_MS,
      cache: RATE_LIMIT_COUNTERS,
      keyGenerator: (request) => request.tenantRoute?.tenant ?? '',
      max: requestsPerMinute,
      errorResponseBuilder: (_request, context) => {
        const seconds = Math.max(1, Math.ceil(context.ttl / 1000));
        return new HttpError(
          429,
          GATEWAY_ERROR_CODES.TOO_MANY_REQUESTS,
          `this tenant's plan allows ${context.max} requests per minute; retry in ${seconds} s`,
        );
      },
    }),
  );

  app.addHook('onRequest', async (request) => {
    if (isPublicRoute(request.method, request.url)) return;
    await identity.caller(request);
  });
};

export const tenantChecks = fp(tenantChecksImpl, { name: '@tenantry/gateway/tenant-checks', fastify: '5.x' });
