import { Type } from '@sinclair/typebox';
import { errorResponses, HttpError } from '@tenantry/service-kit';
import { isTenantName } from '@tenantry/tenant-api';
import type { FastifyRequest } from 'fastify';
import { type AccessClaims, hasRole, type Role } from './claims.ts';
import { InvalidTokenError, type TenantKeys } from './tenant-keys.ts';

/**
 * The tenant a request is for. The gateway resolves it from the Host header and sets this header,
 * replacing any value the client sent (BRIEF section 5); services behind it trust it because only the
 * gateway may reach them (NetworkPolicy), and because a caller's token must still verify under that
 * tenant's own key.
 */
export const TENANT_HEADER = 'x-tenantry-tenant';

export const IDENTITY_ERROR_CODES = {
  TENANT_REQUIRED: 'TENANT_REQUIRED',
  TENANT_NOT_FOUND: 'TENANT_NOT_FOUND',
  TOKEN_MISSING: 'TOKEN_MISSING',
  TOKEN_INVALID: 'TOKEN_INVALID',
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  SESSION_REVOKED: 'SESSION_REVOKED',
  ROLE_REQUIRED: 'ROLE_REQUIRED',
} as const;

/**
 * Whether the session an access token was issued in still lives (not signed out, reset, demoted or
 * revoked). Without it a token is good until it expires, whatever happened to its session.
 */
export interface SessionCheck {
  live(tenant: string, sid: string): Promise<boolean>;
  /**
   * How long a "live" answer is trusted, in ms (0: ask every time). An ended session never comes
   * back, so "ended" is remembered for as long as the cache keeps the entry.
   */
  cacheMs?: number;
}

/** Sessions remembered at most; the oldest entry goes first beyond this. */
const SESSION_CACHE_ENTRIES = 10_000;

/** For route schemas: the header is documented, and its absence is a 400 rather than a crash. */
export const TenantHeaders = Type.Object({
  [TENANT_HEADER]: Type.String({ description: 'Set by the gateway from the Host' }),
});

export interface RequestIdentityOptions {
  keys: TenantKeys;
  /** Whether the service can serve `tenant` now (its database credentials arrived, for instance). */
  serves?(tenant: string): boolean;
  /**
   * Bind the tenant to the request's logger once resolved (default). Off where the caller has bound
   * it already (the gateway, from the Host): a pino child per request is not free.
   */
  bindTenantToLog?: boolean;
  /** Check each caller's session (`sid`) after its token verifies; see SessionCheck. */
  sessions?: SessionCheck;
}

export interface RequestIdentity {
  /** The request's tenant; 400 without one, 404 when no such tenant is served. */
  tenant(request: FastifyRequest): string;
  /** The verified caller of the request's tenant, with at least role `minimum`; 401 or 403 otherwise. */
  caller(request: FastifyRequest, minimum?: Role): Promise<AccessClaims>;
}

/** Requests whose logger already carries their tenant. */
const tenantLogged = new WeakSet<FastifyRequest>();

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;

export function requestIdentity(options: RequestIdentityOptions): RequestIdentity {
  const { keys } = options;
  const serves = options.serves ?? ((tenant: string) => keys.has(tenant));
  const bindTenantToLog = options.bindTenantToLog ?? true;
  const sessionCache = new Map<string, { live: boolean; until: number }>();

  async function sessionLive(check: SessionCheck, tenant: string, sid: string): Promise<boolean> {
    const key = `${tenant}/${sid}`;
    const cached = sessionCache.get(key);
    const now = Date.now();
    if (cached && (!cached.live || cached.until > now)) return cached.live;
    const live = await check.live(tenant, sid);
    const cacheMs = check.cacheMs ?? 0;
    if (!live || cacheMs > 0) {
      sessionCache.delete(key);
      sessionCache.set(key, { live, until: now + cacheMs });
      if (sessionCache.size > SESSION_CACHE_ENTRIES) {
        const oldest = sessionCache.keys().next().value;
        if (oldest !== undefined) sessionCache.delete(oldest);
      }
    }
    return live;
  }

  function tenant(request: FastifyRequest): string {
    const value = request.headers[TENANT_HEADER];
    if (typeof value !== 'string' || value === '') {
      throw new HttpError(400, IDENTITY_ERROR_CODES.TENANT_REQUIRED, 'the request names no tenant', {
        field: `/headers/${TENANT_HEADER}`,
      });
    }
    if (!isTenantName(value) || !keys.has(value) || !serves(value)) {
      throw new HttpError(404, IDENTITY_ERROR_CODES.TENANT_NOT_FOUND, 'no such tenant', {
        field: `/headers/${TENANT_HEADER}`,
      });
    }
    // Every later line of the request's handler and of the error handler carries the tenant (Fastify's
    // own 'request completed' line goes through the reply's logger, fixed when the request arrived).
    if (bindTenantToLog && !tenantLogged.has(request)) {
      tenantLogged.add(request);
      request.log = request.log.child({ tenant: value });
    }
    return value;
  }

  async function caller(request: FastifyRequest, minimum: Role = 'member'): Promise<AccessClaims> {
    const name = tenant(request);
    const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (!token) {
      throw new HttpError(401, IDENTITY_ERROR_CODES.TOKEN_MISSING, 'a bearer access token is required', {
        field: '/headers/authorization',
        headers: { 'www-authenticate': 'Bearer' },
      });
    }
    let claims: AccessClaims;
    try {
      claims = await keys.verify(name, token);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      throw new HttpError(401, error.code, error.message, {
        field: '/headers/authorization',
        headers: { 'www-authenticate': `Bearer error="invalid_token"` },
      });
    }
    if (options.sessions && !(await sessionLive(options.sessions, name, claims.sid))) {
      throw new HttpError(401, IDENTITY_ERROR_CODES.SESSION_REVOKED, 'the session has ended; sign in again', {
        field: '/headers/authorization',
        headers: { 'www-authenticate': `Bearer error="invalid_token"` },
      });
    }
    if (!hasRole(claims.role, minimum)) {
      throw new HttpError(403, IDENTITY_ERROR_CODES.ROLE_REQUIRED, `this needs the ${minimum} role or above`);
    }
    return claims;
  }

  return { tenant, caller };
}

/** The error responses of a route that resolves the tenant and authenticates the caller. */
export const authenticatedErrors = errorResponses(400, 401, 403, 404);
