import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authenticatedErrors, TENANT_HEADER } from '@tenantry/identity';
import { errorResponses, HttpError } from '@tenantry/service-kit';
import {
  type AccountRow,
  findAccount,
  findAccountByEmail,
  normalizeEmail,
  publicAccount,
  recordSignin,
} from './accounts-store.ts';
import { AUTH_ERROR_CODES, type AuthContext, locked } from './auth-context.ts';
import { publish } from './auth-events.ts';
import { transaction } from './db.ts';
import { attemptSucceeded, countAttempt, lockKeys } from './lockout-store.ts';
import { Account, Credentials, Jwks, RefreshBody, SignoutBody, Tokens } from './schemas.ts';
import { familyOf, revokeFamily, rotate, sessionRevoked, startSession } from './sessions-store.ts';

/** Sign-in, refresh, sign-out, me and the tenant's JWKS. */
export function sessionRoutes(ctx: AuthContext): FastifyPluginAsyncTypebox {
  const { databases, keys, identity, passwords, ttl } = ctx;
  const sessionLifetime = {
    refreshTokenSeconds: ttl.refreshTokenSeconds,
    sessionMaxSeconds: ttl.sessionMaxSeconds,
  };

  async function tokensFor(tenant: string, account: AccountRow, sessionId: string, refreshToken: string) {
    const accessToken = await keys.sign(
      {
        sub: account.id,
        tenant,
        role: account.role,
        email: account.email,
        emailVerified: account.emailVerified,
        sid: sessionId,
      },
      ttl.accessTokenSeconds,
    );
    return {
      accessToken,
      tokenType: 'Bearer' as const,
      expiresIn: ttl.accessTokenSeconds,
      refreshToken,
      user: publicAccount(account),
    };
  }

  return async (app) => {
    app.post(
      '/api/auth/signin',
      {
        schema: {
          summary: 'Sign in with email and password; returns an access token and a refresh token',
          body: Credentials,
          response: { 200: Tokens, ...errorResponses(400, 401, 403, 404, 429) },
        },
      },
      async (request) => {
        const tenant = identity.tenant(request);
        const email = normalizeEmail(request.body.email);
        const keysOfAttempt = lockKeys(email, request.ip);
        const db = databases.drizzle(tenant);

        // Counted before the password is checked: concurrent guesses past the threshold never verify.
        const lock = await countAttempt(db, keysOfAttempt, ctx.lockout);
        if (lock) throw locked(lock.retryAfterSeconds);

        const account = await findAccountByEmail(db, email);
        const valid = await passwords.verifyOrBurn(account?.passwordHash ?? undefined, request.body.password);
        if (!valid || !account) {
          throw new HttpError(
            401,
            AUTH_ERROR_CODES.INVALID_CREDENTIALS,
            'the email or the password is wrong',
          );
        }
        await attemptSucceeded(db, keysOfAttempt);
        // Unverified accounts do not sign in: until the mailbox is proven, whoever chose the password
        // may not own the address. Said only to a caller who knows the password.
        if (!account.emailVerified) {
          throw new HttpError(
            403,
            AUTH_ERROR_CODES.EMAIL_NOT_VERIFIED,
            'confirm the email address with the link sent to it before signing in',
          );
        }
        const session = await transaction(databases, tenant, async (tx) => {
          await recordSignin(tx, account.id);
          const started = await startSession(tx, account.id, sessionLifetime);
          await publish(tx, tenant, 'user.signed_in', { userId: account.id, sessionId: started.familyId });
          return started;
        });
        request.log.info({ tenant, userId: account.id }, 'signed in');
        return tokensFor(tenant, account, session.familyId, session.token);
      },
    );

    app.post(
      '/api/auth/refresh',
      {
        schema: {
          summary: 'Exchange a refresh token for new tokens; the presented one becomes invalid',
          body: RefreshBody,
          response: { 200: Tokens, ...errorResponses(400, 401, 404) },
        },
      },
      async (request) => {
        const tenant = identity.tenant(request);
        // The revocation after a reuse must commit even though the request fails: decide, commit, then throw.
        const result = await transaction(databases, tenant, async (tx) => {
          const rotation = await rotate(tx, request.body.refreshToken, sessionLifetime);
          const account = rotation.outcome === 'rotated' ? await findAccount(tx, rotation.userId) : undefined;
          return { rotation, account };
        });
        const { rotation, account } = result;
        if (rotation.outcome === 'reused') {
          request.log.warn(
            { tenant, userId: rotation.userId, sessionId: rotation.familyId },
            'refresh token reused; session revoked',
          );
          throw new HttpError(
            401,
            AUTH_ERROR_CODES.REFRESH_TOKEN_REUSED,
            'the refresh token was already used; sign in again',
            { field: '/body/refreshToken' },
          );
        }
        if (rotation.outcome === 'expired') {
          throw new HttpError(
            401,
            AUTH_ERROR_CODES.REFRESH_TOKEN_EXPIRED,
            'the refresh token expired; sign in again',
            { field: '/body/refreshToken' },
          );
        }
        if (rotation.outcome !== 'rotated' || !account) {
          throw new HttpError(401, AUTH_ERROR_CODES.REFRESH_TOKEN_INVALID, 'the refresh token is not valid', {
            field: '/body/refreshToken',
          });
        }
        return tokensFor(tenant, account, rotation.familyId, rotation.token);
      },
    );

    app.post(
      '/api/auth/signout',
      {
        schema: {
          summary: "End the caller's session (and the refresh token's, when given)",
          body: SignoutBody,
          response: { 204: { type: 'null' }, ...authenticatedErrors },
        },
      },
      async (request, reply) => {
        const caller = await identity.caller(request);
        await transaction(databases, caller.tenant, async (tx) => {
          // Under the user's session lock (revokeFamily): a refresh racing this sign-out either
          // committed its new token before (revoked here) or sees the family revoked after.
          await revokeFamily(tx, caller.sub, caller.sid);
          const presented = request.body?.refreshToken;
          if (presented) {
            const family = await familyOf(tx, presented);
            // Only the caller's own sessions: a token of someone else's is ignored, not revoked.
            if (family?.userId === caller.sub) await revokeFamily(tx, caller.sub, family.familyId);
          }
        });
        return reply.code(204).send();
      },
    );

    app.get(
      '/api/auth/me',
      {
        schema: {
          summary: 'The signed-in account',
          response: { 200: Account, ...authenticatedErrors },
        },
      },
      async (request) => {
        const caller = await identity.caller(request);
        const db = databases.drizzle(caller.tenant);
        // Two independent reads: no transaction needed, and they run at once.
        const [revoked, account] = await Promise.all([
          sessionRevoked(db, caller.sid),
          findAccount(db, caller.sub),
        ]);
        if (revoked || !account) {
          throw new HttpError(401, AUTH_ERROR_CODES.SESSION_REVOKED, 'the session has ended; sign in again', {
            field: '/headers/authorization',
          });
        }
        return publicAccount(account);
      },
    );

    app.get(
      '/api/auth/.well-known/jwks.json',
      {
        schema: {
          summary: "The tenant's public token signing keys",
          response: { 200: Jwks, ...errorResponses(400, 404) },
        },
      },
      async (request, reply) => {
        const tenant = identity.tenant(request);
        // Keys change only when the operator replaces a deleted Secret; a few minutes' caching is safe.
        reply.header('cache-control', 'public, max-age=300').header('vary', TENANT_HEADER);
        return keys.jwks(tenant) ?? { keys: [] };
      },
    );
  };
}
