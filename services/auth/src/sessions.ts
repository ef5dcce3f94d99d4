import type { Sql, TransactionSql } from 'postgres';
import { hashSecretToken, newSecretToken } from './secret-tokens.ts';

/**
 * Sessions as refresh token families. Invariant: a family has at most one usable token (not rotated,
 * not revoked, not expired); refreshing rotates it to a new one.
 */
export interface IssuedRefreshToken {
  token: string;
  familyId: string;
}

/** A refresh token's idle lifetime, and the session's absolute one from sign-in. */
export interface SessionLifetime {
  refreshTokenSeconds: number;
  sessionMaxSeconds: number;
}

/**
 * Serialises everything that creates or ends a user's refresh tokens (sign-in, refresh, sign-out,
 * reset, verification, role change) for the rest of the transaction. Without it a sign-out could
 * revoke the family's rows while a concurrent refresh inserts the next one, which the sign-out's
 * snapshot never saw: the session would outlive its sign-out.
 */
export async function lockSessions(tx: TransactionSql, userId: string): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtext('tenantry.auth.sessions'), hashtext(${userId}))`;
}

export async function startSession(
  tx: TransactionSql,
  userId: string,
  lifetime: SessionLifetime,
): Promise<IssuedRefreshToken> {
  await lockSessions(tx, userId);
  const [family] = await tx<{ id: string; endsAt: Date }[]>`
    select gen_random_uuid() as id, now() + make_interval(secs => ${lifetime.sessionMaxSeconds}) as "endsAt"
  `;
  const familyId = family?.id ?? '';
  const token = await insertToken(tx, userId, familyId, lifetime.refreshTokenSeconds, family?.endsAt);
  return { token, familyId };
}

/** A refresh token that expires after its idle lifetime, and never after its session's end. */
async function insertToken(
  tx: TransactionSql,
  userId: string,
  familyId: string,
  ttlSeconds: number,
  sessionEndsAt: Date | undefined,
): Promise<string> {
  const { token, hash } = newSecretToken();
  const endsAt = sessionEndsAt ?? null;
  await tx`
    insert into auth_refresh_tokens (family_id, user_id, token_hash, expires_at, session_expires_at)
    values (${familyId}, ${userId}, ${hash},
            least(now() + make_interval(secs => ${ttlSeconds}), ${endsAt}::timestamptz), ${endsAt}::timestamptz)
  `;
  return token;
}

export type Rotation =
  | { outcome: 'rotated'; userId: string; familyId: string; token: string }
  | { outcome: 'invalid' | 'expired' }
  /** A rotated token was presented again: it was copied; the family is now revoked. */
  | { outcome: 'reused'; userId: string; familyId: string };

export async function rotate(
  tx: TransactionSql,
  presented: string,
  lifetime: SessionLifetime,
): Promise<Rotation> {
  const hash = hashSecretToken(presented);
  const [owner] = await tx<{ userId: string }[]>`
    select user_id as "userId" from auth_refresh_tokens where token_hash = ${hash}
  `;
  if (!owner) return { outcome: 'invalid' };
  // Locked before the row is read again: a sign-out that committed meanwhile is seen as revoked.
  await lockSessions(tx, owner.userId);
  const [row] = await tx<
    {
      id: string;
      userId: string;
      familyId: string;
      rotated: boolean;
      revoked: boolean;
      expired: boolean;
      sessionEndsAt: Date;
    }[]
  >`
    select id, user_id as "userId", family_id as "familyId", rotated_at is not null as rotated,
           revoked_at is not null as revoked,
           expires_at <= now()
             or coalesce(session_expires_at, created_at + make_interval(secs => ${lifetime.sessionMaxSeconds})) <= now()
             as expired,
           coalesce(session_expires_at, created_at + make_interval(secs => ${lifetime.sessionMaxSeconds}))
             as "sessionEndsAt"
    from auth_refresh_tokens where token_hash = ${hash}
    for update
  `;
  if (!row || row.revoked) return { outcome: 'invalid' };
  if (row.rotated) {
    await revokeFamily(tx, row.userId, row.familyId);
    return { outcome: 'reused', userId: row.userId, familyId: row.familyId };
  }
  if (row.expired) return { outcome: 'expired' };
  await tx`update auth_refresh_tokens set rotated_at = now() where id = ${row.id}`;
  const token = await insertToken(
    tx,
    row.userId,
    row.familyId,
    lifetime.refreshTokenSeconds,
    row.sessionEndsAt,
  );
  return { outcome: 'rotated', userId: row.userId, familyId: row.familyId, token };
}

/** Ends one session of `userId` (the caller holds, or here takes, the user's session lock). */
export async function revokeFamily(tx: TransactionSql, userId: string, familyId: string): Promise<void> {
  await lockSessions(tx, userId);
  await tx`
    update auth_refresh_tokens set revoked_at = now()
    where family_id = ${familyId} and user_id = ${userId} and revoked_at is null
  `;
}

/** Ends every session of `userId`: password reset, verification, invitation, role change. */
export async function revokeAllSessions(tx: TransactionSql, userId: string): Promise<void> {
  await lockSessions(tx, userId);
  await tx`update auth_refresh_tokens set revoked_at = now() where user_id = ${userId} and revoked_at is null`;
}

/** The family of a presented refresh token, whatever its state; undefined when unknown. */
export async function familyOf(
  tx: TransactionSql,
  presented: string,
): Promise<{ familyId: string; userId: string } | undefined> {
  const [row] = await tx<{ familyId: string; userId: string }[]>`
    select family_id as "familyId", user_id as "userId" from auth_refresh_tokens
    where token_hash = ${hashSecretToken(presented)}
  `;
  return row;
}

/**
 * Whether the session an access token names was ended (signout, reuse, password reset, verification,
 * role change, or its absolute end): no usable token is left in its family.
 */
export async function sessionRevoked(tx: Sql | TransactionSql, familyId: string): Promise<boolean> {
  const [row] = await tx<{ live: boolean }[]>`
    select bool_or(revoked_at is null and (session_expires_at is null or session_expires_at > now())) as live
    from auth_refresh_tokens where family_id = ${familyId}
  `;
  return row?.live !== true;
}
