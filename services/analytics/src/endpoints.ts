import { type TObject, Type } from '@sinclair/typebox';
import type { Interval, Period } from './period.ts';
import type { Row } from './query-runner.ts';

/** What an endpoint's handler has: the caller's tenant (from the verified identity), the period, limits. */
export interface EndpointContext {
  database: string;
  tenant: string;
  period: Period;
  /** The top-N endpoints' N. */
  limit: number;
  /** Rows an answer holds at most; queries fetch one more to tell a truncated answer. */
  maxRows: number;
  /** Runs SQL with the standard parameters bound: tenant, startDate, endDate, tz, limit, rowLimit. */
  query(sql: string): Promise<Row[]>;
}

export interface Endpoint {
  /** Under /api/analytics/. */
  path: string;
  summary: string;
  /** The formula, in the OpenAPI document and the README. */
  description: string;
  row: TObject;
  /** Whether `limit` (top N) applies. */
  ranked?: boolean;
  run(ctx: EndpointContext): Promise<Row[]>;
}

// SQL fragments. Only these fixed texts and the validated database name are spliced; every value is a
// {name:Type} parameter bound by ClickHouse.

/** Rows whose `column` falls in the period: from startDate 00:00 to the day after endDate, in tz. */
const inPeriod = (column: string) =>
  `${column} >= toDateTime({startDate:Date}, {tz:String}) AND ${column} < toDateTime({endDate:Date} + 1, {tz:String})`;

const BUCKET_START: Record<Interval, string> = { day: '', week: 'toMonday', month: 'toStartOfMonth' };

/** The bucket (its first day, YYYY-MM-DD in tz) a time falls in; weeks start on Monday. */
const bucketOf = (interval: Interval, column: string) =>
  `toString(${BUCKET_START[interval]}(toDate(toTimeZone(${column}, {tz:String}))))`;

/** The same for a Date that is already a day of tz. */
const bucketOfDay = (interval: Interval, column: string) => `toString(${BUCKET_START[interval]}(${column}))`;

const LIMIT_ROWS = 'LIMIT {rowLimit:UInt32}';
const LIMIT_TOP = 'LIMIT {limit:UInt32}';
const tenantIs = 'tenant = {tenant:String}';

const Bucket = Type.String({ description: 'First day of the bucket (YYYY-MM-DD) in tz' });
const Count = Type.Number({ minimum: 0 });
const Provider = Type.String();
const Currency = Type.String({ description: 'ISO 4217, lower case' });

const MONTH_DAYS = 30.436875;

function chatRollup(ctx: EndpointContext): string {
  return `${ctx.database}.chat_hourly`;
}

export const ENDPOINTS: Endpoint[] = [
  {
    path: 'users/signups',
    summary: 'Signups per bucket',
    description: 'signups = count of user.signed_up events in the bucket.',
    row: Type.Object({ bucket: Bucket, signups: Count }),
    run: (ctx) =>
      ctx.query(`SELECT ${bucketOf(ctx.period.interval, 'hour')} AS bucket, sum(events) AS signups
        FROM ${ctx.database}.event_counts_hourly
        WHERE ${tenantIs} AND type = 'user.signed_up' AND ${inPeriod('hour')}
        GROUP BY bucket ORDER BY bucket ${LIMIT_ROWS}`),
  },
  {
    path: 'users/growth',
    summary: 'Signups per bucket and the running total of users',
    description:
      'totalUsers = signups before startDate + signups up to the end of the bucket (users are never removed by an event today).',
    row: Type.Object({ bucket: Bucket, signups: Count, totalUsers: Count }),
    run: (ctx) =>
      ctx.query(`WITH (SELECT sum(events) FROM ${ctx.database}.event_counts_hourly
          WHERE ${tenantIs} AND type = 'user.signed_up' AND hour < toDateTime({startDate:Date}, {tz:String})) AS before
        SELECT bucket, signups, toUInt64(before + sum(signups) OVER (ORDER BY bucket)) AS totalUsers
        FROM (SELECT ${bucketOf(ctx.period.interval, 'hour')} AS bucket, sum(events) AS signups
          FROM ${ctx.database}.event_counts_hourly
          WHERE ${tenantIs} AND type = 'user.signed_up' AND ${inPeriod('hour')} GROUP BY bucket)
        ORDER BY bucket ${LIMIT_ROWS}`),
  },
  {
    path: 'users/active',
    summary: 'Active users per bucket',
    description:
      'activeUsers = distinct user ids among the events of the bucket that carry one (signup, sign-in, chat messages and conversations).',
    row: Type.Object({ bucket: Bucket, activeUsers: Count }),
    run: (ctx) =>
      ctx.query(`SELECT ${bucketOf(ctx.period.interval, 'hour')} AS bucket, uniqExact(user_id) AS activeUsers
        FROM ${ctx.database}.user_activity_hourly
        WHERE ${tenantIs} AND ${inPeriod('hour')}
        GROUP BY bucket ORDER BY bucket ${LIMIT_ROWS}`),
  },
  {
    path: 'users/top',
    summary: 'The most active users of the period',
    description: 'Ranked by chat messages, then tokens; costMicroUsd is the provider cost of their messages.',
    ranked: true,
    row: Type.Object({
      userId: Type.String(),
      events: Count,
      messages: Count,
      tokens: Count,
      costMicroUsd: Count,
    }),
    run: (ctx) =>
      ctx.query(`SELECT user_id AS userId, sum(events) AS events, sum(messages) AS messages, sum(tokens) AS tokens,
          sum(cost_micro_usd) AS costMicroUsd
        FROM ${ctx.database}.user_activity_hourly
        WHERE ${tenantIs} AND ${inPeriod('hour')}
        GROUP BY userId ORDER BY messages DESC, tokens DESC, userId ${LIMIT_TOP}`),
  },
  {
    path: 'chat/activity',
    summary: 'Chat messages per bucket',
    description: 'messages = chat.message_completed events; failed = those whose status is not completed.',
    row: Type.Object({ bucket: Bucket, messages: Count, failed: Count }),
    run: (ctx) =>
      ctx.query(`SELECT ${bucketOf(ctx.period.interval, 'hour')} AS bucket, sum(messages) AS messages, sum(failed) AS failed
        FROM ${chatRollup(ctx)} WHERE ${tenantIs} AND ${inPeriod('hour')}
        GROUP BY bucket ORDER BY bucket ${LIMIT_ROWS}`),
  },
  {
    path: 'chat/tokens',
    summary: 'Tokens per bucket',
    description:
      'Tokens as the provider reported them (or estimated when a stream broke); total = input + output.',
    row: Type.Object({ bucket: Bucket, inputTokens: Count, outputTokens: Count, totalTokens: Count }),
    run: (ctx) =>
      ctx.query(`SELECT ${bucketOf(ctx.period.interval, 'hour')} AS bucket, sum(input_tokens) AS inputTokens,
          sum(output_tokens) AS outputTokens, inputTokens + outputTokens AS totalTokens
        FROM ${chatRollup(ctx)} WHERE ${tenantIs} AND ${inPeriod('hour')}
        GROUP BY bucket ORDER BY bucket ${LIMIT_ROWS}`),
  },
  {
    path: 'chat/by-provider',
    summary: 'Messages, tokens and cost per provider',
    description: 'Sums over the period; costMicroUsd is what the provider charges (1e-6 USD).',
    row: Type.Object({
      provider: Provider,
      messages: Count,
      inputTokens: Count,
      outputTokens: Count,
      costMicroUsd: Count,
    }),
    run: (ctx) =>
      ctx.query(`SELECT provider, sum(messages) AS messages, sum(input_tokens) AS inputTokens,
          sum(output_tokens) AS outputTokens, sum(cost_micro_usd) AS costMicroUsd
        FROM ${chatRollup(ctx)} WHERE ${tenantIs} AND ${inPeriod('hour')}
        GROUP BY provider ORDER BY messages DESC, provider ${LIMIT_ROWS}`),
  },
  {
    path: 'chat/by-model',
    summary: 'Messages, tokens and cost per provider and model',
    description: 'Sums over the period, per (provider, model).',
    row: Type.Object({
      provider: Provider,
      model: Type.String(),
      messages: Count,
      inputTokens: Count,
      outputTokens: Count,
      costMicroUsd: Count,
    }),
    run: (ctx) =>
      ctx.query(`SELECT provider, model, sum(messages) AS messages, sum(input_tokens) AS inputTokens,
          sum(output_tokens) AS outputTokens, sum(cost_micro_usd) AS costMicroUsd
        FROM ${chatRollup(ctx)} WHERE ${tenantIs} AND ${inPeriod('hour')}
        GROUP BY provider, model ORDER BY messages DESC, provider, model ${LIMIT_ROWS}`),
  },
  {
    path: 'revenue/total',
    summary: 'Revenue of the period per currency',
    description:
      'revenueMinor = sum of billing.payment_succeeded amountMinor (minor units); payments = their count.',
    row: Type.Object({ currency: Currency, payments: Count, revenueMinor: Count }),
    run: (ctx) =>
      ctx.query(`SELECT currency, sum(payments) AS payments, sum(amount_minor) AS revenueMinor
        FROM ${ctx.database}.revenue_hourly WHERE ${tenantIs} AND ${inPeriod('hour')}
        GROUP BY currency ORDER BY currency ${LIMIT_ROWS}`),
  },
  {
    path: 'revenue/over-time',
    summary: 'Revenue per bucket and currency',
    description: 'revenueMinor = sum of billing.payment_succeeded amountMinor in the bucket.',
    row: Type.Object({ bucket: Bucket, currency: Currency, payments: Count, revenueMinor: Count }),
    run: (ctx) =>
      ctx.query(`SELECT ${bucketOf(ctx.period.interval, 'hour')} AS bucket, currency, sum(payments) AS payments,
          sum(amount_minor) AS revenueMinor
        FROM ${ctx.database}.revenue_hourly WHERE ${tenantIs} AND ${inPeriod('hour')}
        GROUP BY bucket, currency ORDER BY bucket, currency ${LIMIT_ROWS}`),
  },
  {
    path: 'revenue/mrr',
    summary: 'Monthly recurring revenue at the end of each bucket',
    description: `mrrMinor = for each invoice (billing.invoice_issued) whose service period covers the last day of the bucket that has one, totalMinor × ${MONTH_DAYS} / the period's length in days, summed per currency. Buckets in which no invoice period is running are left out (MRR 0).`,
    row: Type.Object({ bucket: Bucket, currency: Currency, mrrMinor: Count }),
    run: (ctx) =>
      ctx.query(`SELECT ${bucketOfDay(ctx.period.interval, 'day')} AS bucket, currency, toUInt64(round(argMax(mrr, day))) AS mrrMinor
        FROM (
          SELECT day, currency, sum(monthly) AS mrr FROM (
            SELECT arrayJoin(arrayMap(n -> first_day + n, range(toUInt32(greatest(1, days))))) AS day, currency,
              amount_minor * ${MONTH_DAYS} / greatest(1, days) AS monthly
            FROM (
              SELECT toDate(toTimeZone(period_start, {tz:String})) AS first_day,
                dateDiff('day', period_start, period_end) AS days, currency, amount_minor
              FROM ${ctx.database}.events
              WHERE ${tenantIs} AND type = 'billing.invoice_issued'
                AND period_start < toDateTime({endDate:Date} + 1, {tz:String})
                AND period_end > toDateTime({startDate:Date}, {tz:String})
            )
          )
          WHERE day BETWEEN {startDate:Date} AND {endDate:Date}
          GROUP BY day, currency
        )
        GROUP BY bucket, currency ORDER BY bucket, currency ${LIMIT_ROWS}`),
  },
  {
    path: 'revenue/by-plan',
    summary: 'Invoiced amounts per plan',
    description:
      'Each invoice of the period counts for the plan of the latest billing.subscription_changed at or before it was issued ("none" when there was none).',
    row: Type.Object({ plan: Type.String(), currency: Currency, invoices: Count, invoicedMinor: Count }),
    run: (ctx) =>
      ctx.query(`SELECT if(s.plan = '', 'none', s.plan) AS plan, i.currency AS currency, count() AS invoices,
          sum(i.amount_minor) AS invoicedMinor
        FROM (SELECT tenant, occurred_at, currency, amount_minor FROM ${ctx.database}.events
              WHERE ${tenantIs} AND type = 'billing.invoice_issued' AND ${inPeriod('occurred_at')}) AS i
        ASOF LEFT JOIN (SELECT tenant, occurred_at, plan FROM ${ctx.database}.events
              WHERE ${tenantIs} AND type = 'billing.subscription_changed') AS s
        ON i.tenant = s.tenant AND i.occurred_at >= s.occurred_at
        GROUP BY plan, currency ORDER BY invoicedMinor DESC, plan ${LIMIT_ROWS}`),
  },
  {
    path: 'revenue/ltv',
    summary: 'Lifetime value of an active user',
    description: `arpuMinor = revenueMinor / activeUsers / months, months = days of the period / ${MONTH_DAYS} (at least 1); lifetimeMonths = average over the period's active users of (last − first activity ever) in months, at least 1; ltvMinor = arpuMinor × lifetimeMonths. Per currency.`,
    row: Type.Object({
      currency: Currency,
      revenueMinor: Count,
      activeUsers: Count,
      arpuMinor: Count,
      lifetimeMonths: Count,
      ltvMinor: Count,
    }),
    run: async (ctx) => {
      const rows = await ctx.query(`WITH
          (SELECT uniqExact(user_id) FROM ${ctx.database}.user_activity_hourly
            WHERE ${tenantIs} AND ${inPeriod('hour')}) AS active,
          (SELECT avg(greatest(1, dateDiff('hour', first, last) / 24 / ${MONTH_DAYS})) FROM (
            SELECT user_id, min(hour) AS first, max(hour) AS last FROM ${ctx.database}.user_activity_hourly
            WHERE ${tenantIs} GROUP BY user_id
            HAVING last >= toDateTime({startDate:Date}, {tz:String}) AND first < toDateTime({endDate:Date} + 1, {tz:String}))) AS lifetime
        SELECT currency, sum(amount_minor) AS revenueMinor, active AS activeUsers, ifNull(lifetime, 1) AS lifetimeMonths
        FROM ${ctx.database}.revenue_hourly WHERE ${tenantIs} AND ${inPeriod('hour')}
        GROUP BY currency ORDER BY currency ${LIMIT_ROWS}`);
      const months = Math.max(1, ctx.period.days / MONTH_DAYS);
      return rows.map((row) => {
        const revenue = Number(row.revenueMinor);
        const users = Number(row.activeUsers);
        const lifetime = Math.round(Number(row.lifetimeMonths) * 100) / 100;
        const arpu = users === 0 ? 0 : revenue / users / months;
        return {
          currency: row.currency,
          revenueMinor: revenue,
          activeUsers: users,
          arpuMinor: Math.round(arpu),
          lifetimeMonths: lifetime,
          ltvMinor: Math.round(arpu * lifetime),
        };
      });
    },
  },
  {
    path: 'revenue/margin',
    summary: 'Revenue against provider cost per bucket (USD)',
    description:
      'revenueMinor = usd payments (cents); costMinor = provider cost of the messages in cents (costMicroUsd / 10,000, to 4 decimals); marginMinor = revenueMinor − costMinor; marginRatio = marginMinor / revenueMinor (null without revenue). Revenue in other currencies is not converted and is left out.',
    row: Type.Object({
      bucket: Bucket,
      revenueMinor: Count,
      costMicroUsd: Count,
      costMinor: Count,
      marginMinor: Type.Number(),
      marginRatio: Type.Union([Type.Number(), Type.Null()]),
    }),
    run: async (ctx) => {
      const rows =
        await ctx.query(`SELECT bucket, sum(revenue) AS revenueMinor, sum(cost) AS costMicroUsd FROM (
          SELECT ${bucketOf(ctx.period.interval, 'hour')} AS bucket, amount_minor AS revenue, toUInt64(0) AS cost
          FROM ${ctx.database}.revenue_hourly WHERE ${tenantIs} AND currency = 'usd' AND ${inPeriod('hour')}
          UNION ALL
          SELECT ${bucketOf(ctx.period.interval, 'hour')} AS bucket, toUInt64(0) AS revenue, cost_micro_usd AS cost
          FROM ${chatRollup(ctx)} WHERE ${tenantIs} AND ${inPeriod('hour')}
        ) GROUP BY bucket ORDER BY bucket ${LIMIT_ROWS}`);
      return rows.map((row) => {
        const revenue = Number(row.revenueMinor);
        const costMicroUsd = Number(row.costMicroUsd);
        const cost = costMicroUsd / 10_000;
        const margin = Math.round((revenue - cost) * 10_000) / 10_000;
        return {
          bucket: row.bucket,
          revenueMinor: revenue,
          costMicroUsd,
          costMinor: cost,
          marginMinor: margin,
          marginRatio: revenue === 0 ? null : Math.round((margin / revenue) * 10_000) / 10_000,
        };
      });
    },
  },
  {
    path: 'providers/usage',
    summary: 'Messages and tokens per bucket and provider',
    description: 'Sums of chat.message_completed per bucket and provider; totalTokens = input + output.',
    row: Type.Object({ bucket: Bucket, provider: Provider, messages: Count, totalTokens: Count }),
    run: (ctx) =>
      ctx.query(`SELECT ${bucketOf(ctx.period.interval, 'hour')} AS bucket, provider, sum(messages) AS messages,
          sum(input_tokens) + sum(output_tokens) AS totalTokens
        FROM ${chatRollup(ctx)} WHERE ${tenantIs} AND ${inPeriod('hour')}
        GROUP BY bucket, provider ORDER BY bucket, provider ${LIMIT_ROWS}`),
  },
  {
    path: 'providers/performance',
    summary: 'Latency and failures per provider',
    description:
      'Duration quantiles (p50/p95/p99, ms, approximate: ClickHouse quantiles over a reservoir sample) of the whole message; avgTimeToFirstTokenMs over messages that streamed a first token; failureRate = failed / messages.',
    row: Type.Object({
      provider: Provider,
      messages: Count,
      failureRate: Count,
      p50DurationMs: Count,
      p95DurationMs: Count,
      p99DurationMs: Count,
      avgTimeToFirstTokenMs: Type.Union([Count, Type.Null()]),
    }),
    run: async (ctx) => {
      const rows = await ctx.query(`SELECT provider, sum(messages) AS messages, sum(failed) AS failed,
          quantilesMerge(0.5, 0.95, 0.99)(duration_quantiles) AS durations,
          sum(ttft_ms_sum) AS ttftSum, sum(ttft_count) AS ttftCount
        FROM ${chatRollup(ctx)} WHERE ${tenantIs} AND ${inPeriod('hour')}
        GROUP BY provider ORDER BY provider ${LIMIT_ROWS}`);
      return rows.map((row) => {
        const [p50, p95, p99] = (row.durations as number[]).map((value) => Math.round(value));
        const messages = Number(row.messages);
        const ttftCount = Number(row.ttftCount);
        return {
          provider: row.provider,
          messages,
          failureRate: messages === 0 ? 0 : Math.round((Number(row.failed) / messages) * 10_000) / 10_000,
          p50DurationMs: p50 ?? 0,
          p95DurationMs: p95 ?? 0,
          p99DurationMs: p99 ?? 0,
          avgTimeToFirstTokenMs: ttftCount === 0 ? null : Math.round(Number(row.ttftSum) / ttftCount),
        };
      });
    },
  },
  {
    path: 'providers/cost',
    summary: 'Provider cost per bucket and provider',
    description:
      "costMicroUsd = sum of the messages' costMicroUsd; costPer1kTokensMicroUsd = costMicroUsd × 1000 / totalTokens (0 without tokens).",
    row: Type.Object({
      bucket: Bucket,
      provider: Provider,
      costMicroUsd: Count,
      totalTokens: Count,
      costPer1kTokensMicroUsd: Count,
    }),
    run: (ctx) =>
      ctx.query(`SELECT ${bucketOf(ctx.period.interval, 'hour')} AS bucket, provider, sum(cost_micro_usd) AS costMicroUsd,
          sum(input_tokens) + sum(output_tokens) AS totalTokens,
          toUInt64(if(totalTokens = 0, 0, round(costMicroUsd * 1000 / totalTokens))) AS costPer1kTokensMicroUsd
        FROM ${chatRollup(ctx)} WHERE ${tenantIs} AND ${inPeriod('hour')}
        GROUP BY bucket, provider ORDER BY bucket, provider ${LIMIT_ROWS}`),
  },
  {
    path: 'providers/popular-models',
    summary: 'Models ranked by messages',
    description: 'share = messages of the model / messages of all models in the period.',
    ranked: true,
    row: Type.Object({ provider: Provider, model: Type.String(), messages: Count, share: Count }),
    run: (ctx) =>
      ctx.query(`SELECT provider, model, messages, round(messages / sum(messages) OVER (), 4) AS share FROM (
          SELECT provider, model, sum(messages) AS messages
          FROM ${chatRollup(ctx)} WHERE ${tenantIs} AND ${inPeriod('hour')} GROUP BY provider, model)
        ORDER BY messages DESC, provider, model ${LIMIT_TOP}`),
  },
];
