import { requestIdentity, TENANT_HEADER, type TenantKeys } from '@tenantry/identity';
import { HttpError } from '@tenantry/service-kit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { GATEWAY_ERROR_CODES } from './error-codes.ts';
import { type PlanLimits, type RateLimits, rateLimitsOf } from './plan-limits.ts';
import { isPublicRoute } from './public-routes.ts';
import { RateWindows } from './rate-windows.ts';
import type { TenantRoute, TenantRoutes } from './tenant-routes.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenant of the request's Host; set by the first check, so never null past it. */
    tenantRoute: TenantRoute | null;
    /** The verified caller's user id, once the token is checked; null on routes without a token. */
    tenantCaller: string | null;
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
 * a route without a token is within the client's and the tenant's anonymous budgets; any other is
 * within the tenant's budget (which therefore also counts requests refused below), has a bearer token
 * valid for that tenant (401 TOKEN_MISSING, TOKEN_INVALID, TOKEN_EXPIRED), and is within the user's
 * share (429 TOO_MANY_REQUESTS for each budget, from the tenant's Plan). WebSocket upgrades go through
 * the same hooks.
 */
const tenantChecksImpl: FastifyPluginAsync<TenantChecksOptions> = async (app, options) => {
  const { routes, plans, keys, fallbackRequestsPerMinute } = options;
  // The tenant is bound to the request's logger below, from the Host.
  const identity = requestIdentity({ keys, bindTenantToLog: false });
  const unknownPlansLogged = new Set<string>();

  app.decorateRequest('tenantRoute', null);
  app.decorateRequest('tenantCaller', null);

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

  const limitsOf = (request: FastifyRequest): RateLimits => {
    const plan = request.tenantRoute?.plan;
    const limits = plans.limits(plan);
    if (limits) return limits;
    const planName = plan ?? '(none)';
    if (!unknownPlansLogged.has(planName)) {
      unknownPlansLogged.add(planName);
      request.log.warn(
        { plan: planName, requestsPerMinute: fallbackRequestsPerMinute },
        'the tenant plan is unknown to the gateway; applying the fallback rate limit',
      );
    }
    return fallback;
  };
  const fallback = rateLimitsOf({ requestsPerMinute: fallbackRequestsPerMinute }) as RateLimits;

  /**
   * One budget: the requests `applies` picks, counted per `key` against the plan's figure `max`; over
   * it, 429 with Retry-After. `headers`: RateLimit-Limit/-Remaining/-Reset (IETF draft) on answered
   * requests, from the tenant's budget for requests with a token and the client's for the others.
   */
  const budget = (options: {
    applies: (request: FastifyRequest) => boolean;
    key: (request: FastifyRequest) => string;
    max: (limits: RateLimits) => number;
    message: (max: number, seconds: number) => string;
    headers: boolean;
  }) => {
    const windows = new RateWindows({ windowMs: RATE_LIMIT_WINDOW_MS, capacity: RATE_LIMIT_COUNTERS });
    return (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
      if (!options.applies(request)) return done();
      const max = options.max(limitsOf(request));
      const now = Date.now();
      const { count, resetAt } = windows.hit(options.key(request), now);
      const seconds = Math.max(1, Math.ceil((resetAt - now) / 1000));
      if (count > max) {
        const headers = {
          'ratelimit-limit': String(max),
          'ratelimit-remaining': '0',
          'ratelimit-reset': String(seconds),
          'retry-after': String(seconds),
        };
        done(
          new HttpError(429, GATEWAY_ERROR_CODES.TOO_MANY_REQUESTS, options.message(max, seconds), {
            headers,
          }),
        );
        return;
      }
      if (options.headers) {
        reply.headers({
          'ratelimit-limit': String(max),
          'ratelimit-remaining': String(max - count),
          'ratelimit-reset': String(seconds),
        });
      }
      done();
    };
  };
  const tenantOf = (request: FastifyRequest) => request.tenantRoute?.tenant ?? '';
  const anonymous = (request: FastifyRequest) => isPublicRoute(request.method, request.url);

  // Requests without a token (sign-up, sign-in, resets) have a budget apart, so that no anonymous
  // flood uses up the signed-in users' one; one client address gets a share of it, so that no one
  // client uses it up (nor burns auth's CPU on password hashing). A request refused by the first is
  // not counted by the second.
  app.addHook(
    'onRequest',
    budget({
      applies: anonymous,
      key: (request) => `${tenantOf(request)} ${request.ip}`,
      max: (limits) => limits.perClientRequestsPerMinute,
      message: (max, seconds) =>
        `this tenant's plan allows ${max} requests per minute from one client to routes without a token; retry in ${seconds} s`,
      headers: true,
    }),
  );
  app.addHook(
    'onRequest',
    budget({
      applies: anonymous,
      key: tenantOf,
      max: (limits) => limits.anonymousRequestsPerMinute,
      message: (max, seconds) =>
        `this tenant's plan allows ${max} requests per minute to routes without a token; retry in ${seconds} s`,
      headers: false,
    }),
  );
  // The tenant's budget counts every request that needs a token, refused ones included: it is checked
  // before the token, so a flood of bad tokens costs no verification past it.
  app.addHook(
    'onRequest',
    budget({
      applies: (request) => !anonymous(request),
      key: tenantOf,
      max: (limits) => limits.requestsPerMinute,
      message: (max, seconds) =>
        `this tenant's plan allows ${max} requests per minute; retry in ${seconds} s`,
      headers: true,
    }),
  );

  app.addHook('onRequest', async (request) => {
    if (anonymous(request)) return;
    request.tenantCaller = (await identity.caller(request)).sub;
  });
  // One signed-in user's share of the tenant's budget.
  app.addHook(
    'onRequest',
    budget({
      applies: (request) => request.tenantCaller !== null,
      key: (request) => `${tenantOf(request)} ${request.tenantCaller}`,
      max: (limits) => limits.perUserRequestsPerMinute,
      message: (max, seconds) =>
        `this tenant's plan allows ${max} requests per minute per user; retry in ${seconds} s`,
      headers: false,
    }),
  );
};

export const tenantChecks = fp(tenantChecksImpl, { name: '@tenantry/gateway/tenant-checks', fastify: '5.x' });
