import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from './db.ts';
import { refreshTokens } from './schema.ts';
import { hashSecretToken, newSecretToken } from './secret-tokens.ts';

/**
 * Sessions as refresh token families (`auth_refresh_tokens`). Invariant: a family has at most one
 * usable token (not rotated, not revoked, not expired); refreshing rotates it to a new one.
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
export async function lockSessions(tx: Db, userId: string): Promise<void> {
  await tx.execute(
    sql`select pg_advisory_xact_lock(hashtext('tenantry.auth.sessions'), hashtext(${userId}))`,
  );
}

export async function startSession(
  tx: Db,
  userId: string,
  lifetime: SessionLifetime,
): Promise<IssuedRefreshToken> {
  await lockSessions(tx, userId);
  const [family] = await tx.execute<{ id: string; endsAt: string }>(
    sql`select gen_random_uuid() as id, now() + make_interval(secs => ${lifetime.sessionMaxSeconds}) as "endsAt"`,
  );
  const familyId = family?.id ?? '';
  const token = await insertToken(tx, userId, familyId, lifetime.refreshTokenSeconds, family?.endsAt);
  return { token, familyId };
}

/** A refresh token that expires after its idle lifetime, and never after its session's end. */
async function insertToken(
  tx: Db,
  userId: string,
  familyId: string,
  ttlSeconds: number,
  sessionEndsAt: string | undefined,
): Promise<string> {
  const { token, hash } = newSecretToken();
  const endsAt = sessionEndsAt ?? null;
  await tx.insert(refreshTokens).values({
    familyId,
    userId,
    tokenHash: hash,
    expiresAt: sql`least(now() + make_interval(secs => ${ttlSeconds}), ${endsAt}::timestamptz)`,
    sessionExpiresAt: sql`${endsAt}::timestamptz`,
  });
  return token;
}

export type Rotation =
  | { outcome: 'rotated'; userId: string; familyId: string; token: string }
  | { outcome: 'invalid' | 'expired' }
  /** A rotated token was presented again: it was copied; the family is now revoked. */
  | { outcome: 'reused'; userId: string; familyId: string };

export async function rotate(tx: Db, presented: string, lifetime: SessionLifetime): Promise<Rotation> {
  const hash = hashSecretToken(presented);
  const [owner] = await tx
    .select({ userId: refreshTokens.userId })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, hash));
  if (!owner) return { outcome: 'invalid' };
  // Locked before the row is read again: a sign-out that committed meanwhile is seen as revoked.
  await lockSessions(tx, owner.userId);
  const sessionEndsAt = sql`coalesce(${refreshTokens.sessionExpiresAt}, ${refreshTokens.createdAt} + make_interval(secs => ${lifetime.sessionMaxSeconds}))`;
  const [row] = await tx
    .select({
      id: refreshTokens.id,
      userId: refreshTokens.userId,
      familyId: refreshTokens.familyId,
      rotated: sql<boolean>`${refreshTokens.rotatedAt} is not null`,
      revoked: sql<boolean>`${refreshTokens.revokedAt} is not null`,
      expired: sql<boolean>`${refreshTokens.expiresAt} <= now() or ${sessionEndsAt} <= now()`,
      sessionEndsAt: sql<string>`${sessionEndsAt}`,
    })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, hash))
    .for('update');
  if (!row || row.revoked) return { outcome: 'invalid' };
  if (row.rotated) {
    await revokeFamily(tx, row.userId, row.familyId);
    return { outcome: 'reused', userId: row.userId, familyId: row.familyId };
  }
  if (row.expired) return { outcome: 'expired' };
  await tx.update(refreshTokens).set({ rotatedAt: sql`now()` }).where(eq(refreshTokens.id, row.id));
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
export async function revokeFamily(tx: Db, userId: string, familyId: string): Promise<void> {
  await lockSessions(tx, userId);
  await tx
    .update(refreshTokens)
    .set({ revokedAt: sql`now()` })
    .where(
      and(
        eq(refreshTokens.familyId, familyId),
        eq(refreshTokens.userId, userId),
        isNull(refreshTokens.revokedAt),
      ),
    );
}

/** Ends every session of `userId`: password reset, verification, invitation, role change. */
export async function revokeAllSessions(tx: Db, userId: string): Promise<void> {
  await lockSessions(tx, userId);
  await tx
    .update(refreshTokens)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)));
}

/** The family of a presented refresh token, whatever its state; undefined when unknown. */
export async function familyOf(
  tx: Db,
  presented: string,
): Promise<{ familyId: string; userId: string } | undefined> {
  const [row] = await tx
    .select({ familyId: refreshTokens.familyId, userId: refreshTokens.userId })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, hashSecretToken(presented)));
  return row;
}

/**
 * Whether the session an access token names was ended (signout, reuse, password reset, verification,
 * role change, or its absolute end): no usable token is left in its family.
 */
export async function sessionRevoked(db: Db, familyId: string): Promise<boolean> {
  const [row] = await db
    .select({
      live: sql<
        boolean | null
      >`bool_or(${refreshTokens.revokedAt} is null and (${refreshTokens.sessionExpiresAt} is null or ${refreshTokens.sessionExpiresAt} > now()))`,
    })
    .from(refreshTokens)
    .where(eq(refreshTokens.familyId, familyId));
  return row?.live !== true;
}
