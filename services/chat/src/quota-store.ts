import { appendToOutbox, type ChatQuotaThresholdReached, createEvent } from '@tenantry/events';
import type { Sql, TransactionSql } from 'postgres';
import { quotaExceeded } from './chat-errors.ts';
import type { UsagePeriod } from './usage-period.ts';

/**
 * The tenant's token quota in its own database: reserve before a provider call, settle to the actual
 * usage (or release) after. The reservation is one conditional UPDATE, so whatever the concurrency,
 * used + reserved never passes the quota: a request that does not fit is refused before any provider
 * is called.
 */

/** Reserves `tokens` in the period or throws 429 QUOTA_EXCEEDED with what remains. */
export async function reserveTokens(
  sql: Sql,
  tenant: string,
  period: UsagePeriod,
  tokens: number,
  quota: number,
): Promise<void> {
  // A plain conditional UPDATE in the common case (the period's row exists): it locks the row and
  // checks the condition against its latest version, so concurrent reservations are serialized on it.
  // (INSERT … ON CONFLICT DO UPDATE would do both in one statement but is several times slower when
  // hundreds of requests hit the one row at once.)
  const reserve = () => sql`
    update chat_usage_periods set reserved_tokens = reserved_tokens + ${tokens}
    where period_start = ${period.start.toISOString()}::timestamptz and used_tokens + reserved_tokens + ${tokens} <= ${quota}
    returning period_start
  `;
  let reserved = await reserve();
  if (reserved.length === 0) {
    // The period's first request, or a refusal: make sure the row exists, then try once more.
    const created = await sql`
      insert into chat_usage_periods (period_start) values (${period.start.toISOString()}::timestamptz)
      on conflict do nothing returning period_start
    `;
    if (created.length > 0) reserved = await reserve();
  }
  if (reserved.length > 0) return;
  const [row] = await sql<{ used: string; reserved: string; notified: number }[]>`
    select used_tokens as used, reserved_tokens as reserved, notified_threshold as notified
    from chat_usage_periods where period_start = ${period.start.toISOString()}::timestamptz
  `;
  const used = Number(row?.used ?? 0);
  const remaining = Math.max(0, quota - used - Number(row?.reserved ?? 0));
  // A refusal is the quota reached, as far as the tenant can tell: announced once, as 100%.
  if ((row?.notified ?? 0) < 100)
    await sql.begin((tx) => announceThreshold(tx, tenant, period, 100, used, quota));
  throw quotaExceeded(remaining, period.end);
}

/** Gives a reservation back (the call failed before any usage). */
export async function releaseTokens(sql: Sql, period: UsagePeriod, tokens: number): Promise<void> {
  await sql`
    update chat_usage_periods set reserved_tokens = greatest(reserved_tokens - ${tokens}, 0)
    where period_start = ${period.start.toISOString()}::timestamptz
  `;
}

/**
 * Turns a reservation into usage, in the caller's transaction (the one that stores the message and
 * its event), and announces the 80% and 100% thresholds once per period each.
 */
export async function settleTokens(
  tx: TransactionSql,
  options: {
    tenant: string;
    period: UsagePeriod;
    reserved: number;
    used: number;
    userId: string;
    quota: number;
  },
): Promise<void> {
  const { period, tenant, quota } = options;
  await tx`
    insert into chat_user_usage (period_start, user_id, used_tokens) values (${period.start.toISOString()}::timestamptz, ${options.userId}, ${options.used})
    on conflict (period_start, user_id) do update set used_tokens = chat_user_usage.used_tokens + excluded.used_tokens
  `;
  const [row] = await tx<{ used: string; notified: number }[]>`
    update chat_usage_periods
    set reserved_tokens = greatest(reserved_tokens - ${options.reserved}, 0), used_tokens = used_tokens + ${options.used}
    where period_start = ${period.start.toISOString()}::timestamptz
    returning used_tokens as used, notified_threshold as notified
  `;
  if (!row) return;
  const used = Number(row.used);
  const threshold = used >= quota ? 100 : used * 100 >= quota * 80 ? 80 : 0;
  if (threshold !== 0 && threshold > row.notified)
    await announceThreshold(tx, tenant, period, threshold, used, quota);
}

/**
 * Publishes chat.quota_threshold_reached unless this threshold (or a higher one) was announced in the
 * period already. Conditional, so of two requests crossing it together only one announces it.
 */
async function announceThreshold(
  tx: TransactionSql,
  tenant: string,
  period: UsagePeriod,
  threshold: 80 | 100,
  used: number,
  quota: number,
): Promise<void> {
  const claimed = await tx`
    update chat_usage_periods set notified_threshold = ${threshold}
    where period_start = ${period.start.toISOString()}::timestamptz and notified_threshold < ${threshold}
    returning period_start
  `;
  if (claimed.length === 0) return;
  const payload: ChatQuotaThresholdReached = {
    threshold,
    periodStart: period.start.toISOString(),
    periodEnd: period.end.toISOString(),
    usedTokens: used,
    quotaTokens: quota,
  };
  await appendToOutbox(
    tx,
    createEvent({
      type: 'chat.quota_threshold_reached',
      tenant,
      aggregateId: `quota:${period.start.toISOString()}`,
      payload,
    }),
  );
}

export interface UsageFigures {
  usedTokens: number;
  reservedTokens: number;
  callerUsedTokens: number;
}

export async function usageOf(sql: Sql, period: UsagePeriod, userId: string): Promise<UsageFigures> {
  const [tenantRow] = await sql<{ used: string; reserved: string }[]>`
    select used_tokens as used, reserved_tokens as reserved from chat_usage_periods where period_start = ${period.start.toISOString()}::timestamptz
  `;
  const [userRow] = await sql<{ used: string }[]>`
    select used_tokens as used from chat_user_usage where period_start = ${period.start.toISOString()}::timestamptz and user_id = ${userId}
  `;
  return {
    usedTokens: Number(tenantRow?.used ?? 0),
    reservedTokens: Number(tenantRow?.reserved ?? 0),
    callerUsedTokens: Number(userRow?.used ?? 0),
  };
}
