import type { Sql, TransactionSql } from 'postgres';

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
 * Lockout after repeated failures, per account and per client address. Every attempt is counted
 * atomically (one upsert) BEFORE the password is verified, and only the first `threshold` attempts of
 * a window may verify: N concurrent guesses cannot all slip past a check made before any of them was
 * recorded. A success gives its attempt back (`attemptSucceeded`). Counting starts a window of
 * `lockSeconds`; the attempt past the threshold locks the key for `lockSeconds`, and a new window
 * starts once the lock (or the window) is over. Unknown emails are counted like known ones, so being
 * locked reveals nothing about an account.
 *
 * The address is counted first and, when it is locked, the account is not: a client locked out of
 * guessing cannot go on raising other people's account counters from the same address.
 */
export async function countAttempt(
  sql: Sql | TransactionSql,
  keys: { account: string; address: string },
  policy: LockoutPolicy,
): Promise<Lock | undefined> {
  return (
    (await count(sql, keys.address, policy.addressFailures, policy.lockSeconds)) ??
    (await count(sql, keys.account, policy.accountFailures, policy.lockSeconds))
  );
}

async function count(
  sql: Sql | TransactionSql,
  key: string,
  threshold: number,
  lockSeconds: number,
): Promise<Lock | undefined> {
  // `fresh`: the previous lock, or the counting window, is over: this attempt opens a new window.
  // (ON CONFLICT DO UPDATE takes no FROM, hence the expression spelled out where it is needed.)
  const fresh = sql`(case when f.locked_until is not null then f.locked_until <= now()
    else f.window_started_at < now() - make_interval(secs => ${lockSeconds}) end)`;
  const [row] = await sql<{ seconds: number | null }[]>`
    insert into auth_signin_failures as f (key, failures, window_started_at)
    values (${key}, 1, now())
    on conflict (key) do update set
      failures = case when ${fresh} then 1 else f.failures + 1 end,
      window_started_at = case when ${fresh} then now() else f.window_started_at end,
      locked_until = case
        when ${fresh} then null
        when f.locked_until is null and f.failures + 1 > ${threshold}
          then now() + make_interval(secs => ${lockSeconds})
        else f.locked_until end
    returning ceil(extract(epoch from locked_until - now()))::int as seconds
  `;
  const seconds = row?.seconds;
  return seconds !== null && seconds !== undefined && seconds > 0
    ? { retryAfterSeconds: seconds }
    : undefined;
}

/**
 * The password was right: the account's count is cleared, and the address gets this attempt back
 * (an office behind one address signs in many times; only failures should add up there).
 */
export async function attemptSucceeded(
  tx: Sql | TransactionSql,
  keys: { account: string; address: string },
): Promise<void> {
  await clearFailures(tx, keys.account);
  await tx`
    update auth_signin_failures set failures = greatest(failures - 1, 0)
    where key = ${keys.address} and locked_until is null
  `;
}

export async function clearFailures(tx: Sql | TransactionSql, key: string): Promise<void> {
  await tx`delete from auth_signin_failures where key = ${key}`;
}
