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

export async function startSession(
  tx: TransactionSql,
  userId: string,
  ttlSeconds: number,
): Promise<IssuedRefreshToken> {
  const [family] = await tx<{ id: string }[]>`select gen_random_uuid() as id`;
  const familyId = family?.id ?? '';
  return { token: await insertToken(tx, userId, familyId, ttlSeconds), familyId };
}

async function insertToken(
  tx: TransactionSql,
  userId: string,
  familyId: string,
  ttlSeconds: number,
): Promise<string> {
  const { token, hash } = newSecretToken();
  await tx`
    insert into auth_refresh_tokens (family_id, user_id, token_hash, expires_at)
    values (${familyId}, ${userId}, ${hash}, now() + make_interval(secs => ${ttlSeconds}))
  `;
  return token;
}

export type Rotation =
  | { outcome: 'rotated'; userId: string; familyId: string; token: string }
  | { outcome: 'invalid' | 'expired' }
  /** A rotated token was presented again: it was copied; the family is now revoked. */
  | { outcome: 'reused'; userId: string; familyId: string };

export async function rotate(tx: TransactionSql, presented: string, ttlSeconds: number): Promise<Rotation> {
  const [row] = await tx<
    { id: string; userId: string; familyId: string; rotated: boolean; revoked: boolean; expired: boolean }[]
  >`
    select id, user_id as "userId", family_id as "familyId", rotated_at is not null as rotated,
           revoked_at is not null as revoked, expires_at <= now() as expired
    from auth_refresh_tokens where token_hash = ${hashSecretToken(presented)}
    for update
  `;
  if (!row || row.revoked) return { outcome: 'invalid' };
  if (row.rotated) {
    await revokeFamily(tx, row.familyId);
    return { outcome: 'reused', userId: row.userId, familyId: row.familyId };
  }
  if (row.expired) return { outcome: 'expired' };
  await tx`update auth_refresh_tokens set rotated_at = now() where id = ${row.id}`;
  const token = await insertToken(tx, row.userId, row.familyId, ttlSeconds);
  return { outcome: 'rotated', userId: row.userId, familyId: row.familyId, token };
}

export async function revokeFamily(tx: TransactionSql, familyId: string): Promise<void> {
  await tx`update auth_refresh_tokens set revoked_at = now() where family_id = ${familyId} and revoked_at is null`;
}

export async function revokeAllSessions(tx: TransactionSql, userId: string): Promise<void> {
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

/** Whether the session an access token names was ended (signout, reuse, password reset). */
export async function sessionRevoked(tx: Sql | TransactionSql, familyId: string): Promise<boolean> {
  const [row] = await tx<{ live: boolean }[]>`
    select bool_or(revoked_at is null) as live from auth_refresh_tokens where family_id = ${familyId}
  `;
  return row?.live !== true;
}
