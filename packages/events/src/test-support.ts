import { uniqueName } from '@tenantry/devstack/testing';
import { appRoleName, eventsTopic, ownerRoleName } from '@tenantry/tenant-api';
import {
  applyMigrations,
  deleteTopics,
  dropTenantDatabase,
  ensureTenantDatabase,
  generatePassword,
  type MigrationSet,
  migrationSets,
  reconcileTopics,
} from '@tenantry/tenant-operator/testing';
import kafkajs, { type Admin, type IHeaders, type Kafka } from 'kafkajs';
import postgres, { type Sql } from 'postgres';
import { expect } from 'vitest';
import { type EventEnvelope, parseEvent } from './envelope.ts';

// kafkajs is CommonJS: Node's ESM loader exposes only its default export reliably.
const { Kafka: KafkaClient, logLevel } = kafkajs;

/**
 * Tenants for the tests, provisioned with the operator's own building blocks (no operator process):
 * database and roles, the migration sets registered with the operator, the events topic.
 */

/** The `events` set as registered with the operator: the tests prove the registration too. */
function registeredEventsSet(): MigrationSet {
  const set = migrationSets.find((candidate) => candidate.name === 'events');
  if (!set) throw new Error('the events migration set is not registered in the operator');
  return set;
}
const eventsSet = registeredEventsSet();

const POLL = { timeout: 60_000, interval: 100 };

export interface Infrastructure {
  /** Superuser URL of the PostgreSQL server. */
  postgresUrl: string;
  kafkaAdmin: Admin;
}

export interface TestTenant {
  tenant: string;
  topic: string;
  /** As the tenant's app role: what services connect as. */
  sql: Sql;
  /** As the tenant's owner role: for test tables. */
  ownerSql: Sql;
  /** Drops the database, roles and topic. */
  remove(): Promise<void>;
}

function roleUrl(postgresUrl: string, role: string, password: string, database: string): string {
  const url = new URL(postgresUrl);
  url.username = role;
  url.password = password;
  url.pathname = `/${database}`;
  return url.toString();
}

export function testKafka(brokers: string[], clientId = uniqueName('events-test')): Kafka {
  return new KafkaClient({
    clientId,
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 10_000,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}

export async function provisionTenant(
  infra: Infrastructure,
  options: { tenant?: string; withTopic?: boolean } = {},
): Promise<TestTenant> {
  const tenant = options.tenant ?? uniqueName('ev');
  const topic = eventsTopic(tenant);
  const passwords = { owner: generatePassword(), app: generatePassword() };
  const admin = postgres(infra.postgresUrl, { max: 1, onnotice: () => {} });
  try {
    const { database } = await ensureTenantDatabase(admin, tenant, passwords, {
      connectionLimit: 10,
      suspended: false,
    });
    const ownerUrl = roleUrl(infra.postgresUrl, ownerRoleName(tenant), passwords.owner, database);
    await applyMigrations(ownerUrl, [eventsSet]);
    if (options.withTopic ?? true) await createTenantTopic(infra.kafkaAdmin, tenant);
    const sql = postgres(roleUrl(infra.postgresUrl, appRoleName(tenant), passwords.app, database), {
      max: 4,
      onnotice: () => {},
    });
    const ownerSql = postgres(ownerUrl, { max: 1, onnotice: () => {} });
    return {
      tenant,
      topic,
      sql,
      ownerSql,
      async remove() {
        await Promise.all([sql.end({ timeout: 1 }), ownerSql.end({ timeout: 1 })]);
        const cleanup = postgres(infra.postgresUrl, { max: 1, onnotice: () => {} });
        try {
          await dropTenantDatabase(cleanup, tenant);
        } finally {
          await cleanup.end();
        }
        await deleteTopics(infra.kafkaAdmin, [topic]);
      },
    };
  } finally {
    await admin.end();
  }
}

export async function createTenantTopic(kafkaAdmin: Admin, tenant: string): Promise<void> {
  const outcome = await reconcileTopics(kafkaAdmin, [eventsTopic(tenant)], {
    partitions: 2,
    retentionMs: 3_600_000,
  });
  if (!outcome.ok) throw new Error(outcome.message);
}

/** How many messages the topic holds (no transactional producer writes here, so no control records). */
export async function messageCount(kafkaAdmin: Admin, topic: string): Promise<number> {
  const offsets = await kafkaAdmin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

export interface ReceivedEvent {
  key: string | undefined;
  partition: number;
  headers: IHeaders | undefined;
  event: EventEnvelope;
}

/** Every message of `topic`, read with a fresh consumer group; waits until there are `count`. */
export async function readTopic(kafka: Kafka, topic: string, count: number): Promise<ReceivedEvent[]> {
  const groupId = uniqueName('events-reader');
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  const received: ReceivedEvent[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        received.push({
          key: message.key?.toString(),
          partition,
          headers: message.headers,
          event: parseEvent(message.value),
        });
      },
    });
    await expect.poll(() => received.length, POLL).toBeGreaterThanOrEqual(count);
  } finally {
    await consumer.disconnect();
  }
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteGroups([groupId]).catch(() => {});
  await admin.disconnect();
  return received;
}

export interface OutboxRowState {
  id: string;
  publishedAt: Date | null;
  attempts: number;
  lastError: string | null;
}

export async function outboxRows(sql: Sql): Promise<OutboxRowState[]> {
  return sql<OutboxRowState[]>`
    select id, published_at as "publishedAt", attempts, last_error as "lastError" from outbox order by seq
  `;
}
