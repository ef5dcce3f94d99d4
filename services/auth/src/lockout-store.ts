import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from './db.ts';
import { signinFailures } from './schema.ts';

export interface LockoutPolicy {
  accountFailures: number;
  addressFailures: number;
  lockSeconds: number;
}

/** Which key is locked and for how long, when sign-in is refused before any password is checked. */
export interface Lock {
  retryAfterSeconds: number;
}

export function lockKeys(email: string, address: string): { account: string; address: string } {
  return { account: `account:${email}`, address: `address:${address}` };
}

/**
 * Lockout after repeated failures, per account and per client address (`auth_signin_failures`). Every
 * attempt is counted atomically (one upsert) BEFORE the password is verified, and only the first
 * `threshold` attempts of a window may verify: N concurrent guesses cannot all slip past a check made
 * before any of them was recorded. A success gives its attempt back (`attemptSucceeded`). Counting
 * starts a window of `lockSeconds`; the attempt past the threshold locks the key for `lockSeconds`,
 * and a new window starts once the lock (or the window) is over. Unknown emails are counted like known
 * ones, so being locked reveals nothing about an account.
 *
 * The address is counted first and, when it is locked, the account is not: a client locked out of
 * guessing cannot go on raising other people's account counters from the same address.
 */
export async function countAttempt(
  db: Db,
  keys: { account: string; address: string },
  policy: LockoutPolicy,
): Promise<Lock | undefined> {
  return (
    (await count(db, keys.address, policy.addressFailures, policy.lockSeconds)) ??
    (await count(db, keys.account, policy.accountFailures, policy.lockSeconds))
  );
}

async function count(db: Db, key: string, threshold: number, lockSeconds: number): Promise<Lock | undefined> {
  // In the DO UPDATE below, the table's columns are the existing row's.
  const f = signinFailures;
  // `fresh`: the previous lock, or the counting window, is over: this attempt opens a new window.
  // (ON CONFLICT DO UPDATE takes no FROM, hence the expression spelled out where it is needed.)
  const fresh = sql`(case when ${f.lockedUntil} is not null then ${f.lockedUntil} <= now()
    else ${f.windowStartedAt} < now() - make_interval(secs => ${lockSeconds}) end)`;
  const [row] = await db
    .insert(f)
    .values({ key, failures: 1, windowStartedAt: sql`now()` })
    .onConflictDoUpdate({
      target: f.key,
      set: {
        failures: sql`case when ${fresh} then 1 else ${f.failures} + 1 end`,
        windowStartedAt: sql`case when ${fresh} then now() else ${f.windowStartedAt} end`,
        lockedUntil: sql`case
          when ${fresh} then null
          when ${f.lockedUntil} is null and ${f.failures} + 1 > ${threshold}
            then now() + make_interval(secs => ${lockSeconds})
          else ${f.lockedUntil} end`,
      },
    })
    .returning({ seconds: sql<number | null>`ceil(extract(epoch from ${f.lockedUntil} - now()))::int` });
  const seconds = row?.seconds;
  return seconds !== null && seconds !== undefined && seconds > 0
    ? { retryAfterSeconds: seconds }
    : undefined;
}

/**
 * The password was right: the account's count is cleared, and the address gets this attempt back
 * (an office behind one address signs in many times; only failures should add up there).
 */
export async function attemptSucceeded(db: Db, keys: { account: string; address: string }): Promise<void> {
  await clearFailures(db, keys.account);
  await db
    .update(signinFailures)
    .set({ failures: sql`greatest(${signinFailures.failures} - 1, 0)` })
    .where(and(eq(signinFailures.key, keys.address), isNull(signinFailures.lockedUntil)));
}

export async function clearFailures(db: Db, key: string): Promise<void> {
  await db.delete(signinFailures).where(eq(signinFailures.key, key));
}
