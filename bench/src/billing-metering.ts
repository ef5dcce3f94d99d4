/**
 * Billing's metering and invoicing, measured (issue #13). Side by side in one run:
 *
 * 1. Metering throughput: N chat.message_completed events on a tenant topic, consumed by billing's
 *    consumer (createEventConsumer + meterChatUsage: one transaction per event that records it in
 *    processed_events and adds its tokens to the period) until all are metered; against a baseline
 *    that writes the same rows (processed_events, the usage aggregate) with raw postgres.js batches.
 * 2. Exactness across a restart: N more events on another tenant, the consumer stopped a third of the
 *    way and started again, 1,000 of them published twice: tokens metered vs tokens published.
 * 3. An invoice run of 1,000 periods: closeDuePeriods on a subscription 1,000 months in arrears, each
 *    period one transaction (its Plan read from the API server, usage, number, lines, outbox event).
 *
 * Tenants are provisioned directly (the operator's own steps, as operator-onboarding's baseline does)
 * and dropped afterwards. Writes bench/results/billing-metering.{json,md}.
 *
 *   node --import tsx bench/src/billing-metering.ts [--events 20000] [--periods 1000] [--profile bench]
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { closeDuePeriods, meterChatUsage, planCatalog } from '@tenantry/billing';
import { createProgress, loadConfig, type Profile, repoRoot, up } from '@tenantry/devstack';
import {
  type ChatMessageCompleted,
  createEvent,
  createEventConsumer,
  serializeEvent,
} from '@tenantry/events';
import { createLogger } from '@tenantry/logger';
import { databaseName, eventsTopic, ownerRoleName, topicNames } from '@tenantry/tenant-api';
import type { TenantDatabases } from '@tenantry/tenant-db';
import {
  applyManifests,
  applyMigrations,
  createKafkaAdmin,
  deleteTopics,
  dropTenantDatabase,
  ensureTenantDatabase,
  generatePassword,
  loadManifests,
  reconcileTopics,
} from '@tenantry/tenant-operator/provisioning';
import kafkajs from 'kafkajs';
import postgres, { type Sql, type TransactionSql } from 'postgres';
import { markdownTable } from './stats.ts';

const { Kafka, logLevel } = kafkajs;
const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    periods: { type: 'string', default: '1000' },
    profile: { type: 'string', default: 'bench' },
  },
});
const EVENTS = Number(args.events);
const PERIODS = Number(args.periods);
const BASELINE_BATCH = 500;
/** Lago's published ingestion figure (batched REST), for the side-by-side line. */
const LAGO_EVENTS_PER_SECOND = 10_000;
const log = (line: string) => process.stderr.write(`${line}\n`);
const logger = createLogger({ service: 'billing-bench', level: 'error' });

function usage(): ChatMessageCompleted {
  return {
    conversationId: randomUUID(),
    messageId: randomUUID(),
    userId: randomUUID(),
    provider: 'anthropic',
    model: 'claude-sonnet',
    inputTokens: 700,
    outputTokens: 500,
    estimated: false,
    costMicroUsd: 900,
    timeToFirstTokenMs: 200,
    durationMs: 1200,
    status: 'completed',
  };
}

async function metered(sql: Sql): Promise<{ tokens: number; messages: number }> {
  const [row] = await sql`
    select coalesce(sum(input_tokens + output_tokens), 0)::text as tokens, coalesce(sum(messages), 0)::text as messages
    from usage_periods
  `;
  return { tokens: Number(row?.tokens), messages: Number(row?.messages) };
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

async function main() {
  log(`Tenantry benchmark: billing metering (${EVENTS} events) and invoicing (${PERIODS} periods)`);
  const { endpoints } = await up(loadConfig(args.profile as Profile), createProgress());
  const kc = new KubeConfig();
  kc.loadFromFile(endpoints.kube.kubeconfig);
  // The Plans with their prices (spec.billing): the CRD and the default set, as the operator ships them.
  await applyManifests(kc, loadManifests(join(repoRoot, 'crds', 'plans.tenantry.dev.yaml')), 'billing-bench');
  await applyManifests(
    kc,
    loadManifests(join(repoRoot, 'operators', 'tenant-operator', 'config', 'default-plans.yaml')),
    'billing-bench',
  );

  const run = Date.now().toString(36);
  const tenants = {
    metered: `bm-${run}-m`,
    restart: `bm-${run}-r`,
    baseline: `bm-${run}-b`,
    invoices: `bm-${run}-i`,
  };
  const admin = postgres(endpoints.postgres.url, { max: 2, onnotice: () => {} });
  const kafkaAdmin = createKafkaAdmin(endpoints.kafka.brokers, 'billing-bench');
  const kafka = new Kafka({
    clientId: 'billing-bench',
    brokers: endpoints.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  const pools = new Map<string, Sql>();
  const groups: string[] = [];
  try {
    for (const tenant of Object.values(tenants)) {
      const passwords = { owner: generatePassword(), app: generatePassword() };
      await ensureTenantDatabase(admin, tenant, passwords, { connectionLimit: 20, suspended: false });
      const owner = new URL(endpoints.postgres.url);
      owner.username = ownerRoleName(tenant);
      owner.password = passwords.owner;
      owner.pathname = `/${databaseName(tenant)}`;
      await applyMigrations(owner.toString());
      pools.set(tenant, postgres(owner.toString(), { max: 4, onnotice: () => {} }));
    }
    const sqlOf = (tenant: string) => pools.get(tenant) as Sql;
    for (const tenant of [tenants.metered, tenants.restart]) {
      // One partition, as the free plan has: the per-tenant rate this measures is a partition's.
      await kafkaAdmin.use((a) =>
        reconcileTopics(a, topicNames(tenant), { partitions: 1, retentionMs: 3_600_000 }),
      );
    }

    const publish = async (tenant: string, events: ReturnType<typeof createEvent>[]) => {
      const producer = kafka.producer();
      await producer.connect();
      for (let i = 0; i < events.length; i += 1_000) {
        await producer.send({
          topic: eventsTopic(tenant),
          messages: events
            .slice(i, i + 1_000)
            .map((event) => ({ key: event.aggregateId, value: serializeEvent(event) })),
        });
      }
      await producer.disconnect();
    };
    const eventsFor = (tenant: string, n: number) =>
      Array.from({ length: n }, () =>
        createEvent({ type: 'chat.message_completed', tenant, aggregateId: randomUUID(), payload: usage() }),
      );
    const consumerFor = (tenant: string, groupId: string) =>
      createEventConsumer({
        kafka,
        groupId,
        consumerName: 'billing',
        types: ['chat.message_completed'],
        tenantSql: () => sqlOf(tenant),
        handle: meterChatUsage(logger),
        topicPattern: new RegExp(`^${eventsTopic(tenant).replaceAll('.', '\\.')}$`),
        partitionsConsumedConcurrently: 1,
        logger,
      });

    // 1. Throughput: the events are on the topic before the consumer starts.
    log('metering: publishing');
    const events = eventsFor(tenants.metered, EVENTS);
    await publish(tenants.metered, events);
    const group = `billing-bench-${run}`;
    groups.push(group);
    const consumer = consumerFor(tenants.metered, group);
    log('metering: consuming');
    const meteringStart = performance.now();
    await consumer.start();
    await until(
      'every event metered',
      600_000,
      async () => (await metered(sqlOf(tenants.metered))).messages >= EVENTS,
    );
    const meteringSeconds = (performance.now() - meteringStart) / 1000;
    await consumer.stop();
    const meteredTotals = await metered(sqlOf(tenants.metered));

    // The baseline: the same rows, written in raw batches.
    log('baseline: raw postgres.js batches');
    const baselineSql = sqlOf(tenants.baseline);
    const baselineStart = performance.now();
    for (let i = 0; i < events.length; i += BASELINE_BATCH) {
      const batch = events.slice(i, i + BASELINE_BATCH);
      const tokens = batch.reduce((sum, e) => sum + e.payload.inputTokens + e.payload.outputTokens, 0);
      await baselineSql.begin(async (tx) => {
        await tx`insert into processed_events ${tx(batch.map((e) => ({ consumer: 'billing', event_id: e.id })))} on conflict do nothing`;
        await tx`
          insert into usage_periods (period_start, input_tokens, output_tokens, messages)
          values (date_trunc('month', now()), ${tokens}, 0, ${batch.length})
          on conflict (period_start) do update set input_tokens = usage_periods.input_tokens + excluded.input_tokens,
            messages = usage_periods.messages + excluded.messages
        `;
      });
    }
    const baselineSeconds = (performance.now() - baselineStart) / 1000;

    // 2. Exactness across a restart, with duplicates.
    log('restart: publishing, stopping a third of the way, restarting');
    const restartEvents = eventsFor(tenants.restart, EVENTS);
    await publish(tenants.restart, restartEvents);
    const restartGroup = `billing-bench-${run}-r`;
    groups.push(restartGroup);
    const first = consumerFor(tenants.restart, restartGroup);
    await first.start();
    await until(
      'a third metered',
      600_000,
      async () => (await metered(sqlOf(tenants.restart))).messages >= EVENTS / 3,
    );
    await first.stop();
    const atStop = (await metered(sqlOf(tenants.restart))).messages;
    await publish(tenants.restart, restartEvents.slice(0, 1_000)); // redelivered duplicates
    const second = consumerFor(tenants.restart, restartGroup);
    await second.start();
    const [processed] = await (async () => {
      await until('every event processed', 600_000, async () => {
        const [row] = await sqlOf(tenants.restart)`select count(*)::int as n from processed_events`;
        return (row?.n ?? 0) >= EVENTS;
      });
      // The duplicates are at the end of the partition: wait for the group to pass them.
      await until('the duplicates consumed', 120_000, async () =>
        (await second.lag()).every((p: { lag: number }) => p.lag === 0),
      );
      return sqlOf(tenants.restart)`select count(*)::int as n from processed_events`;
    })();
    await second.stop();
    const restartTotals = await metered(sqlOf(tenants.restart));
    const expectedTokens = EVENTS * 1_200;

    // 3. Invoice run.
    log(`invoicing: ${PERIODS} periods`);
    const invoiceSql = sqlOf(tenants.invoices);
    const now = new Date();
    const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - PERIODS, 1));
    const end = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
    await invoiceSql`
      insert into subscriptions (plan, status, billing_email, current_period_start, current_period_end)
      values ('pro', 'active', 'billing@bench.test', ${start.toISOString()}, ${end.toISOString()})
    `;
    // closeDuePeriods reaches the tenant's database only through these two methods.
    const databases = {
      sql: () => invoiceSql,
      withTransaction: (_tenant: string, fn: (tx: TransactionSql) => Promise<unknown>) =>
        invoiceSql.begin(fn),
    } as unknown as TenantDatabases;
    const invoiceStart = performance.now();
    const issued = await closeDuePeriods(
      {
        databases,
        plans: planCatalog(kc),
        tenants: {
          patch: () => Promise.reject(new Error('no subscription is canceled in this run')),
        },
        provider: {
          deleteCustomer: () => Promise.reject(new Error('no subscription is canceled in this run')),
        },
        dueDays: 14,
        logger,
      },
      tenants.invoices,
      now,
    );
    const invoiceSeconds = (performance.now() - invoiceStart) / 1000;

    const results = {
      events: EVENTS,
      metering: {
        seconds: meteringSeconds,
        eventsPerSecond: EVENTS / meteringSeconds,
        exact: meteredTotals.tokens === expectedTokens && meteredTotals.messages === EVENTS,
      },
      baseline: { seconds: baselineSeconds, rowsPerSecond: EVENTS / baselineSeconds, batch: BASELINE_BATCH },
      ratioToBaseline: baselineSeconds / meteringSeconds,
      lagoEventsPerSecond: LAGO_EVENTS_PER_SECOND,
      restart: {
        meteredAtStop: atStop,
        duplicatesPublished: 1_000,
        processedEvents: processed?.n,
        meteredMessages: restartTotals.messages,
        meteredTokens: restartTotals.tokens,
        expectedTokens,
        lost: EVENTS - restartTotals.messages,
        countedTwice: Math.max(0, restartTotals.messages - EVENTS),
      },
      invoicing: {
        periods: issued.length,
        seconds: invoiceSeconds,
        msPerPeriod: (invoiceSeconds * 1000) / issued.length,
      },
    };
    const markdown = [
      `# billing-metering (${EVENTS} events, ${PERIODS} invoice periods)`,
      '',
      markdownTable(
        ['what', 'events/s', 'seconds', 'note'],
        [
          [
            'billing consumer (Kafka → usage_periods, 1 tx/event)',
            results.metering.eventsPerSecond.toFixed(0),
            results.metering.seconds.toFixed(2),
            `exact: ${results.metering.exact}`,
          ],
          [
            `baseline: raw postgres.js batches of ${BASELINE_BATCH}`,
            results.baseline.rowsPerSecond.toFixed(0),
            results.baseline.seconds.toFixed(2),
            `ratio ${results.ratioToBaseline.toFixed(2)}× (aim ≥ 0.5×)`,
          ],
          ['Lago (published, batched REST)', LAGO_EVENTS_PER_SECOND, '-', 'not measured here'],
        ],
      ),
      '',
      markdownTable(
        ['restart test', 'value'],
        Object.entries(results.restart).map(([k, v]) => [k, String(v)]),
      ),
      '',
      markdownTable(
        ['invoice run', 'value'],
        [
          ['periods invoiced', issued.length],
          ['seconds', invoiceSeconds.toFixed(2)],
          ['ms per tenant-period', results.invoicing.msPerPeriod.toFixed(2)],
        ],
      ),
      '',
    ].join('\n');
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n${markdown}`);
    writeFileSync(
      join(repoRoot, 'bench', 'results', 'billing-metering.json'),
      `${JSON.stringify(results, null, 2)}\n`,
    );
    writeFileSync(join(repoRoot, 'bench', 'results', 'billing-metering.md'), markdown);
  } finally {
    for (const pool of pools.values()) await pool.end({ timeout: 5 });
    const topics = [tenants.metered, tenants.restart].flatMap(topicNames);
    await kafkaAdmin.use((a) => deleteTopics(a, topics)).catch(() => {});
    const groupAdmin = kafka.admin();
    await groupAdmin.connect();
    await groupAdmin.deleteGroups(groups).catch(() => {});
    await groupAdmin.disconnect();
    await kafkaAdmin.close();
    for (const tenant of Object.values(tenants)) await dropTenantDatabase(admin, tenant).catch(() => {});
    await admin.end({ timeout: 5 });
  }
}

await main();
