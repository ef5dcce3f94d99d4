import { randomUUID } from 'node:crypto';
import { devstack, uniqueName, until } from '@tenantry/devstack/testing';
import { appendToOutbox, createEvent, createOutboxRelay, type OutboxRelay } from '@tenantry/events';
import { type Role, TENANT_HEADER, TenantKeys } from '@tenantry/identity';
import { createLogger } from '@tenantry/logger';
import type { ServiceInstance } from '@tenantry/service-kit';
import { startTenantRuntime, type TenantRuntime } from '@tenantry/service-runtime';
import { type OperatorHarness, startOperatorHarness } from '@tenantry/tenant-operator/testing';
import kafkajs from 'kafkajs';
import { loadNotificationsConfig } from './config.ts';
import { buildNotificationsService } from './notifications-service.ts';

/**
 * The notifications service over real parts, for the integration tests: tenants onboarded by the real
 * operator (database with this service's migrations, topic, keys, Ingress), the runtime following
 * them, the app with its consumer and worker, tokens signed as auth signs them, and an outbox relay
 * publishing what a test appends, as the publishing services' runtimes do.
 */
const { Kafka, logLevel } = kafkajs;

export const READY = { timeout: 90_000, interval: 200 };
/** An event's way to an inbox: outbox, relay, Kafka, consumer, worker, SMTP, Mailpit. */
export const EVENTUALLY = { timeout: 60_000, interval: 200 };

/** What a JSON response parses to: tests read its fields and compare it whole, as inject's json() allows. */
// biome-ignore lint/suspicious/noExplicitAny: the same type light-my-request gives response.json()
type JsonBody = any;

export interface Caller {
  tenant: string;
  userId: string;
  email: string;
  role: Role;
  token: string;
}

export interface NotificationsHarness {
  h: OperatorHarness;
  runtime: TenantRuntime;
  app: ServiceInstance;
  tenants: string[];
  caller(tenant: string, role?: Role, email?: string): Promise<Caller>;
  call(
    who: Caller,
    method: 'GET' | 'PUT' | 'POST',
    url: string,
    body?: unknown,
    tenant?: string,
  ): Promise<{ status: number; body: JsonBody }>;
  /** As a publishing service does it: the event in the outbox, in a transaction of the tenant database. */
  publish(tenant: string, type: string, payload: unknown, aggregateId?: string): Promise<{ id: string }>;
  kafka(): InstanceType<typeof Kafka>;
  stop(): Promise<void>;
}

export async function startNotificationsHarness(options: {
  prefixes: string[];
  smtp: { host: string; port: number };
  displayNames?: Record<string, string>;
  env?: Record<string, string>;
}): Promise<NotificationsHarness> {
  const h = await startOperatorHarness();
  const tenants = options.prefixes.map((prefix) => h.tenantName(prefix));
  await Promise.all(
    tenants.map((tenant, i) =>
      h.createTenant(tenant, { displayName: options.displayNames?.[options.prefixes[i] ?? ''] ?? tenant }),
    ),
  );
  for (const tenant of tenants) {
    await until(
      `tenant ${tenant} Ready`,
      async () => (await h.condition(tenant, 'Ready'))?.status === 'True',
      READY,
    );
  }
  const config = loadNotificationsConfig({
    PLATFORM_NAMESPACE: h.namespace,
    KAFKA_BROKERS: devstack().kafka.brokers.join(','),
    DB_MAX_CONNECTIONS_PER_TENANT: '4',
    SMTP_HOST: options.smtp.host,
    SMTP_PORT: String(options.smtp.port),
    UNSUBSCRIBE_SECRET: `test-${randomUUID()}-${randomUUID()}`,
    MAIL_FROM: 'notifications@tenantry.test',
    LINK_SCHEME: 'http',
    DELIVERY_POLL_MS: '200',
    // Expected failures (malformed events, SMTP refusals) log errors; the tests assert on their effects.
    LOG_LEVEL: 'fatal',
    ...options.env,
  });
  const logger = createLogger({ service: 'notifications', level: config.LOG_LEVEL });
  const runtime = await startTenantRuntime({
    service: 'notifications',
    settings: config,
    logger,
    kc: h.admin,
  });
  const signer = await TenantKeys.start({ kc: h.admin, namespace: h.keysNamespace, signing: true });
  await until(
    'the runtime to follow every tenant',
    async () => tenants.every((t) => runtime.databases.has(t) && runtime.keys.has(t) && signer.has(t)),
    READY,
  );
  const groupId = uniqueName('notifications-test');
  const app = await buildNotificationsService({
    runtime,
    config,
    logger,
    kc: h.admin,
    events: {
      groupId,
      topicPattern: new RegExp(`^tenantry\\.(${tenants.join('|')})\\.events$`),
      topicCheckIntervalMs: 1_000,
    },
  });
  await app.ready();
  const relay: OutboxRelay = createOutboxRelay({
    kafka: runtime.kafka,
    tenants: () => tenants.map((tenant) => ({ tenant, sql: runtime.databases.sql(tenant) })),
    pollIntervalMs: 100,
  });
  relay.start();
  const kafka = () =>
    new Kafka({
      clientId: 'notifications-test',
      brokers: devstack().kafka.brokers,
      logLevel: logLevel.NOTHING,
    });

  return {
    h,
    runtime,
    app,
    tenants,
    kafka,
    async caller(tenant, role = 'member', email = `${randomUUID().slice(0, 8)}@${tenant}.test`) {
      const userId = randomUUID();
      const token = await signer.sign({
        sub: userId,
        tenant,
        role,
        email,
        emailVerified: true,
        sid: randomUUID(),
      });
      return { tenant, userId, email, role, token };
    },
    async call(who, method, url, body, tenant = who.tenant) {
      const response = await app.inject({
        method,
        url,
        headers: { [TENANT_HEADER]: tenant, authorization: `Bearer ${who.token}` },
        ...(body === undefined ? {} : { payload: body as object }),
      });
      return { status: response.statusCode, body: response.json() };
    },
    async publish(tenant, type, payload, aggregateId = randomUUID()) {
      const event = createEvent({ type, tenant, aggregateId, payload });
      await runtime.databases.withTransaction(tenant, (tx) => appendToOutbox(tx, event));
      return event;
    },
    async stop() {
      await relay.stop();
      await app.close();
      await runtime.close();
      await signer.close();
      const admin = kafka().admin();
      await admin.connect();
      await admin.deleteGroups([groupId]).catch(() => {});
      await admin.disconnect();
      await h.stop();
    },
  };
}
