import { and, eq, isNull, sql } from 'drizzle-orm';
import { type AccountRow, accountColumns, lockAccount } from './accounts-store.ts';
import type { Db } from './db.ts';
import { oneTimeTokens, users } from './schema.ts';
import { hashSecretToken, newSecretToken } from './secret-tokens.ts';

/** The queries on `auth_one_time_tokens`: email verification, password reset and admin invitation. */

export type OneTimePurpose = 'verify_email' | 'reset_password' | 'accept_invitation';

/** A second email of the same purpose within this window is not sent (mail bombing, enumeration by timing). */
export const RESEND_COOLDOWN_SECONDS = 60;

/** Unused and unexpired. */
const usable = () => and(isNull(oneTimeTokens.usedAt), sql`${oneTimeTokens.expiresAt} > now()`);

/**
 * A new single-use token for `purpose`, replacing (expiring) the account's earlier unused ones; none
 * when one was issued within the cooldown. The raw token is returned for the event and never stored.
 */
export async function issueOneTimeToken(
  tx: Db,
  userId: string,
  purpose: OneTimePurpose,
  ttlSeconds: number,
): Promise<{ token: string; expiresAt: string } | undefined> {
  const ofAccount = and(eq(oneTimeTokens.userId, userId), eq(oneTimeTokens.purpose, purpose));
  const [recent] = await tx
    .select({ one: sql`1` })
    .from(oneTimeTokens)
    .where(
      and(
        ofAccount,
        sql`${oneTimeTokens.createdAt} > now() - make_interval(secs => ${RESEND_COOLDOWN_SECONDS})`,
      ),
    )
    .limit(1);
  if (recent) return undefined;
  await tx
    .update(oneTimeTokens)
    .set({ expiresAt: sql`least(${oneTimeTokens.expiresAt}, now())` })
    .where(and(ofAccount, isNull(oneTimeTokens.usedAt)));
  const { token, hash } = newSecretToken();
  const [row] = await tx
    .insert(oneTimeTokens)
    .values({
      userId,
      purpose,
      tokenHash: hash,
      expiresAt: sql`now() + make_interval(secs => ${ttlSeconds})`,
    })
    .returning({ expiresAt: sql<string>`to_json(${oneTimeTokens.expiresAt})#>>'{}'` });
  return { token, expiresAt: row?.expiresAt ?? '' };
}

/** Marks the token used and returns its account (locked), or undefined when it is unknown, used or expired. */
export async function consumeOneTimeToken(
  tx: Db,
  token: string,
  purpose: OneTimePurpose,
): Promise<AccountRow | undefined> {
  const [used] = await tx
    .update(oneTimeTokens)
    .set({ usedAt: sql`now()` })
    .where(
      and(eq(oneTimeTokens.tokenHash, hashSecretToken(token)), eq(oneTimeTokens.purpose, purpose), usable()),
    )
    .returning({ userId: oneTimeTokens.userId });
  if (!used) return undefined;
  return lockAccount(tx, used.userId);
}

/** The account a usable (unused, unexpired) token of `purpose` belongs to, without using the token. */
export async function peekOneTimeToken(
  db: Db,
  token: string,
  purpose: OneTimePurpose,
): Promise<AccountRow | undefined> {
  const owner = db
    .select({ userId: oneTimeTokens.userId })
    .from(oneTimeTokens)
    .where(
      and(eq(oneTimeTokens.tokenHash, hashSecretToken(token)), eq(oneTimeTokens.purpose, purpose), usable()),
    );
  const [row] = await db.select(accountColumns).from(users).where(sql`${users.id} = (${owner})`);
  return row;
}

/** Whether the account's invitation was accepted, and whether one is still usable. */
export async function invitationState(
  db: Db,
  userId: string,
): Promise<{ accepted: boolean; usable: boolean }> {
  const [state] = await db
    .select({
      accepted: sql<boolean>`coalesce(bool_or(${oneTimeTokens.usedAt} is not null), false)`,
      usable: sql<boolean>`coalesce(bool_or(${oneTimeTokens.usedAt} is null and ${oneTimeTokens.expiresAt} > now()), false)`,
    })
    .from(oneTimeTokens)
    .where(and(eq(oneTimeTokens.userId, userId), eq(oneTimeTokens.purpose, 'accept_invitation')));
  return { accepted: state?.accepted ?? false, usable: state?.usable ?? false };
}
