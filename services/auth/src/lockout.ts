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
 * Lockout after repeated failures, per account and per client address. Failures are counted in a
 * window of `lockSeconds` from the first; reaching the threshold locks the key for `lockSeconds`.
 * Unknown emails are counted like known ones, so being locked reveals nothing about an account.
 * A success clears the account's count, never the address's: a client with one valid account must
 * not be able to reset the counter it guesses other accounts under.
 */
export async function currentLock(tx: Sql | TransactionSql, keys: string[]): Promise<Lock | undefined> {
  const [row] = await tx<{ seconds: number }[]>`
    select ceil(extract(epoch from max(locked_until) - now()))::int as seconds
    from auth_signin_failures where key = any(${keys}) and locked_until > now()
  `;
  return row?.seconds ? { retryAfterSeconds: Math.max(1, row.seconds) } : undefined;
}

export async function recordFailure(
  tx: TransactionSql,
  keys: { account: string; address: string },
  policy: LockoutPolicy,
): Promise<void> {
  const thresholds: [string, number][] = [
    [keys.account, policy.accountFailures],
    [keys.address, policy.addressFailures],
  ];
  for (const [key, threshold] of thresholds) {
    await tx`
      insert into auth_signin_failures as f (key, failures, window_started_at)
      values (${key}, 1, now())
      on conflict (key) do update set
        failures = case when f.window_started_at < now() - make_interval(secs => ${policy.lockSeconds})
                        then 1 else f.failures + 1 end,
        window_started_at = case when f.window_started_at < now() - make_interval(secs => ${policy.lockSeconds})
                                 then now() else f.window_started_at end
    `;
    await tx`
      update auth_signin_failures
      set locked_until = now() + make_interval(secs => ${policy.lockSeconds}), failures = 0, window_started_at = now()
      where key = ${key} and failures >= ${threshold}
    `;
  }
}

export async function clearFailures(tx: TransactionSql, key: string): Promise<void> {
  await tx`delete from auth_signin_failures where key = ${key}`;
}
