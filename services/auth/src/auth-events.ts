import { appendToOutbox, createEvent } from '@tenantry/events';
import type { Role } from '@tenantry/identity';
import type { Tx } from './db.ts';

/**
 * The events auth publishes through the outbox, keyed by user id. Verification and reset events carry
 * the raw token, because the notifications service builds the email link from it; the token is
 * single-use and short-lived, and the auth tables keep only its hash.
 */
export interface AuthEventPayloads {
  'user.signed_up': { userId: string; email: string; role: Role };
  'user.email_verification_requested': { userId: string; email: string; token: string; expiresAt: string };
  'user.email_verified': { userId: string; email: string };
  'user.password_reset_requested': { userId: string; email: string; token: string; expiresAt: string };
  /**
   * The tenant's designated admin (spec.admin.email) is invited to set a password and become owner;
   * the same shape as the two other `*_requested` events (the notifications service emails the link).
   */
  'user.invitation_requested': { userId: string; email: string; token: string; expiresAt: string };
  'user.password_reset': { userId: string; email: string };
  'user.signed_in': { userId: string; sessionId: string };
  'user.role_changed': { userId: string; role: Role; previousRole: Role; changedBy: string };
}

/** Appends the event to the outbox in `tx`, through the postgres.js transaction under it. */
export async function publish<T extends keyof AuthEventPayloads>(
  tx: Tx,
  tenant: string,
  type: T,
  payload: AuthEventPayloads[T],
): Promise<void> {
  await appendToOutbox(tx.$client, createEvent({ type, tenant, aggregateId: payload.userId, payload }));
}
