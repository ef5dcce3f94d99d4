import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authenticatedErrors, hasRole, type Role } from '@tenantry/identity';
import { errorResponses, HttpError } from '@tenantry/service-kit';
import type { FastifyBaseLogger } from 'fastify';
import {
  type AccountRow,
  countOwners,
  createAccount,
  findAccountByEmail,
  lockRoleChanges,
  markEmailVerified,
  normalizeEmail,
  roleOf,
  setPassword,
  setRole,
} from './accounts-store.ts';
import { acceptInvitation } from './admin-invitation.ts';
import { ACCEPTED_MESSAGE, AUTH_ERROR_CODES, type AuthContext, locked } from './auth-context.ts';
import { publish } from './auth-events.ts';
import { type Tx, transaction } from './db.ts';
import { attemptSucceeded, clearFailures, countAttempt, lockKeys } from './lockout-store.ts';
import {
  consumeOneTimeToken,
  issueOneTimeToken,
  type OneTimePurpose,
  peekOneTimeToken,
} from './one-time-tokens-store.ts';
import {
  Accepted,
  Credentials,
  EmailOnly,
  ResetBody,
  RoleBody,
  RoleChanged,
  UserIdParams,
  Verified,
} from './schemas.ts';
import { revokeAllSessions } from './sessions-store.ts';

const accepted = { status: 'accepted' as const, message: ACCEPTED_MESSAGE };

/**
 * Sign-up, email verification, password reset and roles. Every endpoint that takes an email answers
 * the same whether or not an account has it (no enumeration); what differs happens only by email.
 */
export function accountRoutes(ctx: AuthContext): FastifyPluginAsyncTypebox {
  const { databases, identity, passwords, ttl } = ctx;

  /** A new verification or reset token for `account`, announced for the notifications service to email. */
  async function emailToken(
    tx: Tx,
    tenant: string,
    account: AccountRow,
    purpose: Exclude<OneTimePurpose, 'accept_invitation'>,
  ) {
    const verify = purpose === 'verify_email';
    const ttlSeconds = verify ? ttl.emailVerificationSeconds : ttl.passwordResetSeconds;
    const issued = await issueOneTimeToken(tx, account.id, purpose, ttlSeconds);
    if (!issued) return;
    const type = verify ? 'user.email_verification_requested' : 'user.password_reset_requested';
    await publish(tx, tenant, type, { userId: account.id, email: account.email, ...issued });
  }

  return async (app) => {
    // Work that finishes after its reply (see emailTokenRoute) is awaited before the app closes, which
    // comes before the runtime's pools close.
    const pendingWork = new Set<Promise<void>>();
    app.addHook('onClose', async () => {
      await Promise.all(pendingWork);
    });
    function afterReply(work: Promise<unknown>, log: FastifyBaseLogger, what: string) {
      const tracked: Promise<void> = work
        .then(() => undefined)
        .catch((error: unknown) => log.error({ err: error }, what))
        .finally(() => pendingWork.delete(tracked));
      pendingWork.add(tracked);
    }

    app.post(
      '/api/auth/signup',
      {
        schema: {
          summary: 'Create an account; a verification email follows. Same answer when the email is taken',
          body: Credentials,
          response: { 202: Accepted, ...errorResponses(400, 404) },
        },
      },
      async (request, reply) => {
        const tenant = identity.tenant(request);
        const email = normalizeEmail(request.body.email);
        // Hashed before knowing whether the email is taken: both answers take the same time.
        const passwordHash = await passwords.hash(request.body.password);
        await transaction(databases, tenant, async (tx) => {
          const account = await createAccount(tx, tenant, email, passwordHash);
          if (!account) return;
          await emailToken(tx, tenant, account, 'verify_email');
        });
        return reply.code(202).send(accepted);
      },
    );

    app.post(
      '/api/auth/verify-email',
      {
        schema: {
          summary:
            'Confirm an email address with the token from the verification email and the password chosen at sign-up',
          body: ResetBody,
          response: { 200: Verified, ...errorResponses(400, 404, 429) },
        },
      },
      async (request) => {
        const tenant = identity.tenant(request);
        const invalid = () =>
          new HttpError(
            400,
            AUTH_ERROR_CODES.VERIFICATION_TOKEN_INVALID,
            'the verification link is invalid, used or expired',
            { field: '/body/token' },
          );
        const db = databases.drizzle(tenant);
        const pending = await peekOneTimeToken(db, request.body.token, 'verify_email');
        if (!pending) throw invalid();
        // The link proves the mailbox, the password proves who chose it: a link sent for a sign-up
        // someone else made with this address (squatting) cannot verify their password. Guesses are
        // counted like sign-in attempts.
        const keysOfAttempt = lockKeys(pending.email, request.ip);
        const lock = await countAttempt(db, keysOfAttempt, ctx.lockout);
        if (lock) throw locked(lock.retryAfterSeconds);
        if (!(await passwords.verifyOrBurn(pending.passwordHash ?? undefined, request.body.password))) {
          throw new HttpError(
            400,
            AUTH_ERROR_CODES.VERIFICATION_PASSWORD_MISMATCH,
            'this is not the password the account was signed up with; if you did not sign up, or forgot it, reset the password',
            { field: '/body/password' },
          );
        }
        await attemptSucceeded(db, keysOfAttempt);
        const role = await transaction(databases, tenant, async (tx) => {
          const account = await consumeOneTimeToken(tx, request.body.token, 'verify_email');
          if (!account || account.id !== pending.id) return undefined;
          await markEmailVerified(tx, account.id);
          // A session from before the proof belongs to whoever knew the password then: it ends.
          await revokeAllSessions(tx, account.id);
          await publish(tx, tenant, 'user.email_verified', { userId: account.id, email: account.email });
          return account.role;
        });
        if (!role) throw invalid();
        return { status: 'verified' as const, role };
      },
    );

    app.post(
      '/api/auth/accept-invitation',
      {
        schema: {
          summary:
            "The designated admin's invitation: set the password, prove the email, become owner; ends every earlier session",
          body: ResetBody,
          response: { 200: Verified, ...errorResponses(400, 404) },
        },
      },
      async (request) => {
        const tenant = identity.tenant(request);
        const passwordHash = await passwords.hash(request.body.password);
        const account = await transaction(databases, tenant, (tx) =>
          acceptInvitation(tx, tenant, request.body.token, passwordHash),
        );
        if (!account) {
          throw new HttpError(
            400,
            AUTH_ERROR_CODES.INVITATION_TOKEN_INVALID,
            'the invitation is invalid, used or expired',
            { field: '/body/token' },
          );
        }
        request.log.info({ tenant, userId: account.id }, 'designated admin accepted the invitation');
        return { status: 'verified' as const, role: account.role };
      },
    );

    /**
     * Emails the account of the posted address a token for `purpose`, when `wanted` says the account
     * needs one. Always 202 with the same body, sent before the address is even looked up: neither
     * the answer nor its timing tells whether the address has an account (the work that follows, a
     * lookup for every address, a token and an event for an account, happens after the reply).
     */
    const emailTokenRoute = (
      url: string,
      summary: string,
      purpose: Exclude<OneTimePurpose, 'accept_invitation'>,
      wanted: (account: AccountRow) => boolean,
    ) =>
      app.post(
        url,
        {
          schema: {
            summary,
            body: EmailOnly,
            response: { 202: Accepted, ...errorResponses(400, 404) },
          },
        },
        async (request, reply) => {
          const tenant = identity.tenant(request);
          const email = normalizeEmail(request.body.email);
          afterReply(
            transaction(databases, tenant, async (tx) => {
              const account = await findAccountByEmail(tx, email);
              if (!account || !wanted(account)) return;
              await emailToken(tx, tenant, account, purpose);
            }),
            request.log,
            `while emailing a ${purpose} token`,
          );
          return reply.code(202).send(accepted);
        },
      );
    emailTokenRoute(
      '/api/auth/resend-verification',
      'Send the verification email again (at most once a minute)',
      'verify_email',
      // Not to a designated admin still to accept the invitation: there is no password to verify.
      (account) => !account.emailVerified && account.passwordHash !== null,
    );
    emailTokenRoute(
      '/api/auth/forgot-password',
      'Email a password reset link (at most once a minute)',
      'reset_password',
      () => true,
    );

    app.post(
      '/api/auth/reset-password',
      {
        schema: {
          summary: 'Set a new password with the token from the reset email; ends every session',
          body: ResetBody,
          response: { 204: { type: 'null' }, ...errorResponses(400, 404) },
        },
      },
      async (request, reply) => {
        const tenant = identity.tenant(request);
        const passwordHash = await passwords.hash(request.body.password);
        const done = await transaction(databases, tenant, async (tx) => {
          const account = await consumeOneTimeToken(tx, request.body.token, 'reset_password');
          if (!account) return false;
          await setPassword(tx, account.id, passwordHash);
          // The reset link went through the mailbox and the password is chosen after it: that proves
          // the address as verification does. It never changes the role (promotion is by invitation).
          await markEmailVerified(tx, account.id);
          await revokeAllSessions(tx, account.id);
          await clearFailures(tx, lockKeys(account.email, '').account);
          await publish(tx, tenant, 'user.password_reset', { userId: account.id, email: account.email });
          return true;
        });
        if (!done) {
          throw new HttpError(
            400,
            AUTH_ERROR_CODES.RESET_TOKEN_INVALID,
            'the reset link is invalid, used or expired',
            { field: '/body/token' },
          );
        }
        return reply.code(204).send();
      },
    );

    app.put(
      '/api/auth/users/:id/role',
      {
        schema: {
          summary: "Change a user's role: admins manage members and admins, only owners manage owners",
          params: UserIdParams,
          body: RoleBody,
          response: { 200: RoleChanged, ...authenticatedErrors, 409: errorResponses(409)[409] },
        },
      },
      async (request) => {
        const caller = await identity.caller(request, 'admin');
        const target = request.params.id;
        const role: Role = request.body.role;
        return transaction(databases, caller.tenant, async (tx) => {
          // Serialises role changes, so two owners demoting each other cannot leave the tenant ownerless.
          await lockRoleChanges(tx);
          const currentRole = await roleOf(tx, target, true);
          if (!currentRole)
            throw new HttpError(404, AUTH_ERROR_CODES.USER_NOT_FOUND, 'no such user', {
              field: '/params/id',
            });
          // The caller's role is read again: the token may predate a demotion.
          const callerRole = (await roleOf(tx, caller.sub)) ?? 'member';
          const touchesOwner = role === 'owner' || currentRole === 'owner';
          if (!hasRole(callerRole, touchesOwner ? 'owner' : 'admin')) {
            throw new HttpError(
              403,
              'ROLE_REQUIRED',
              touchesOwner
                ? 'only an owner can grant or take the owner role'
                : 'this needs the admin role or above',
            );
          }
          if (currentRole === role) return { id: target, role };
          if (currentRole === 'owner') {
            if ((await countOwners(tx)) <= 1) {
              throw new HttpError(
                409,
                AUTH_ERROR_CODES.LAST_OWNER,
                'the tenant must keep at least one owner',
                { field: '/body/role' },
              );
            }
          }
          await setRole(tx, target, role);
          // A demoted user's tokens carry the old role: their sessions end, and the next sign-in
          // carries the new one (a promotion leaves them be: the old tokens claim less, not more).
          if (!hasRole(role, currentRole)) await revokeAllSessions(tx, target);
          await publish(tx, caller.tenant, 'user.role_changed', {
            userId: target,
            role,
            previousRole: currentRole,
            changedBy: caller.sub,
          });
          return { id: target, role };
        });
      },
    );
  };
}
