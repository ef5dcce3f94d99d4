import { randomUUID } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { devstack, uniqueName } from '@tenantry/devstack/testing';
import {
  appendToOutbox,
  createEvent,
  createOutboxRelay,
  type EventEnvelope,
  type OutboxRelay,
  serializeEvent,
} from '@tenantry/events';
import { type Role, TENANT_HEADER, TenantKeys } from '@tenantry/identity';
import { createLogger } from '@tenantry/logger';
import { encodeCursor, type ServiceInstance } from '@tenantry/service-kit';
import { startTenantRuntime, type TenantRuntime } from '@tenantry/service-runtime';
import { appSecretName, databaseName, eventsTopic } from '@tenantry/tenant-api';
import { type OperatorHarness, startOperatorHarness } from '@tenantry/tenant-operator/testing';
import kafkajs from 'kafkajs';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadUsersConfig } from './config.ts';
import { MAX_PREFERENCES } from './profile-schemas.ts';
import { buildUsersService } from './users-service.ts';

/**
 * The users service end to end: two tenants onboarded by the real operator (database, roles, every
 * registered migration set, topic, signing key), the service's runtime following their Secrets, auth's
 * events appended to tenant A's outbox and relayed to its topic, requests through the app.
 */

// kafkajs is CommonJS: Node's ESM loader exposes only its default export reliably.
const { Kafka, logLevel } = kafkajs;

const READY_TIMEOUT_MS = 90_000;
/** An event's way: outbox, relay, Kafka, consumer group join, handler. Generous: the machine is shared. */
const EVENTUALLY = { timeout: 60_000, interval: 200 };

let h: OperatorHarness;
let runtime: TenantRuntime;
let signer: TenantKeys;
let app: ServiceInstance;
let relay: OutboxRelay;
let tenantA: string;
let tenantB: string;
let groupId: string;

beforeAll(async () => {
  h = await startOperatorHarness();
  tenantA = h.tenantName('usr-a');
  tenantB = h.tenantName('usr-b');
  await Promise.all([h.createTenant(tenantA, {}), h.createTenant(tenantB, {})]);
  for (const tenant of [tenantA, tenantB]) {
    await waitFor(
      async () => (await h.condition(tenant, 'Ready'))?.status === 'True',
      `tenant ${tenant} Ready`,
    );
  }

  const config = loadUsersConfig({
    PLATFORM_NAMESPACE: h.namespace,
    KAFKA_BROKERS: devstack().kafka.brokers.join(','),
    DB_MAX_CONNECTIONS_PER_TENANT: '3',
    // Expected failures (a poison event, a suspended tenant) log errors; the tests assert on their effects.
    LOG_LEVEL: 'fatal',
  });
  const logger = createLogger({ service: 'users', level: config.LOG_LEVEL });
  runtime = await startTenantRuntime({ service: 'users', settings: config, logger, kc: h.admin });
  // Tokens are issued as the auth service issues them, with the tenants' private keys; the users
  // runtime itself follows only the public keys.
  signer = await TenantKeys.start({ kc: h.admin, namespace: h.keysNamespace, signing: true });
  await waitFor(
    async () =>
      [tenantA, tenantB].every((t) => runtime.databases.has(t) && runtime.keys.has(t) && signer.has(t)),
    'the runtime to follow both tenants',
  );

  groupId = uniqueName('users-test');
  app = await buildUsersService({
    runtime,
    config,
    logger,
    events: {
      groupId,
      topicPattern: new RegExp(`^tenantry\\.(${tenantA}|${tenantB})\\.events$`),
      topicCheckIntervalMs: 1_000,
    },
  });
  // What auth's runtime does for it: publish the outbox of the tenant databases to their topics.
  relay = createOutboxRelay({
    kafka: runtime.kafka,
    tenants: () => [tenantA, tenantB].map((tenant) => ({ tenant, sql: runtime.databases.sql(tenant) })),
    pollIntervalMs: 100,
  });
  relay.start();
});

afterAll(async () => {
  await relay?.stop();
  await app?.close();
  await runtime?.close();
  await signer?.close();
  if (groupId) {
    const admin = kafka().admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect();
  }
  await h?.stop();
});

/** expect.poll for hooks, where vitest does not allow it. */
async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${READY_TIMEOUT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function kafka() {
  return new Kafka({ clientId: 'users-test', brokers: devstack().kafka.brokers, logLevel: logLevel.NOTHING });
}

interface Caller {
  tenant: string;
  userId: string;
  email: string;
  role: Role;
  token: string;
}

async function caller(tenant: string, role: Role = 'member', userId: string = randomUUID()): Promise<Caller> {
  const email = `${userId.slice(0, 8)}@${tenant}.test`;
  const token = await signer.sign({
    sub: userId,
    tenant,
    role,
    email,
    emailVerified: true,
    sid: randomUUID(),
  });
  return { tenant, userId, email, role, token };
}

type Method = 'GET' | 'PATCH';

async function call(who: Caller, method: Method, url: string, body?: unknown, tenant = who.tenant) {
  const response = await app.inject({
    method,
    url,
    headers: { [TENANT_HEADER]: tenant, authorization: `Bearer ${who.token}` },
    ...(body === undefined ? {} : { payload: body as object }),
  });
  return { status: response.statusCode, body: response.json() };
}

/** As auth does it: the event in the outbox, in a transaction of the tenant database. */
async function publishThroughOutbox(
  tenant: string,
  type: string,
  payload: { userId: string; [field: string]: unknown },
) {
  const event = createEvent({ type, tenant, aggregateId: payload.userId, payload });
  await runtime.databases.withTransaction(tenant, (tx) => appendToOutbox(tx, event));
  return event;
}

async function profileStatus(admin: Caller, userId: string) {
  return (await call(admin, 'GET', `/api/users/${userId}`)).status;
}

async function profileRows(tenant: string, userId: string): Promise<number> {
  const [row] = await runtime.databases.sql(tenant)<{ count: number }[]>`
    select count(*)::int as count from profiles where user_id = ${userId}
  `;
  return row?.count ?? 0;
}

describe('profiles from auth events', () => {
  test('user.signed_up creates the profile; user.role_changed changes its role', async () => {
    const admin = await caller(tenantA, 'admin');
    const userId = randomUUID();
    await publishThroughOutbox(tenantA, 'user.signed_up', {
      userId,
      email: 'grace@a.test',
      displayName: 'Grace Hopper',
      role: 'member',
    });

    await expect.poll(() => profileStatus(admin, userId), EVENTUALLY).toBe(200);
    const { body } = await call(admin, 'GET', `/api/users/${userId}`);
    expect(body).toEqual({
      userId,
      email: 'grace@a.test',
      displayName: 'Grace Hopper',
      avatarUrl: null,
      locale: null,
      timezone: null,
      role: 'member',
      preferences: {},
      createdAt: expect.stringMatching(/Z$/),
      updatedAt: expect.stringMatching(/Z$/),
    });

    await publishThroughOutbox(tenantA, 'user.role_changed', {
      userId,
      role: 'admin',
      previousRole: 'member',
    });
    await expect
      .poll(async () => (await call(admin, 'GET', `/api/users/${userId}`)).body.role, EVENTUALLY)
      .toBe('admin');
  });

  test('GET /me before the event creates the profile from the token; the late event adds the signup name', async () => {
    const user = await caller(tenantA);
    const first = await call(user, 'GET', '/api/users/me');
    expect(first).toEqual({
      status: 200,
      body: expect.objectContaining({
        userId: user.userId,
        email: user.email,
        role: 'member',
        displayName: null,
        preferences: {},
      }),
    });
    const again = await call(user, 'GET', '/api/users/me');
    expect(again.body.createdAt).toBe(first.body.createdAt);

    await publishThroughOutbox(tenantA, 'user.signed_up', {
      userId: user.userId,
      email: user.email,
      displayName: 'Late Name',
      role: 'member',
    });
    await expect
      .poll(async () => (await call(user, 'GET', '/api/users/me')).body.displayName, EVENTUALLY)
      .toBe('Late Name');
    expect(await profileRows(tenantA, user.userId)).toBe(1);
  });

  test('a name the user set is kept when the signup event arrives after it', async () => {
    const user = await caller(tenantA);
    expect((await call(user, 'PATCH', '/api/users/me', { displayName: 'Chosen' })).status).toBe(200);
    const event = await publishThroughOutbox(tenantA, 'user.signed_up', {
      userId: user.userId,
      email: user.email,
      displayName: 'From Signup',
      role: 'member',
    });
    await expect.poll(() => processedRows(tenantA, event), EVENTUALLY).toEqual([{ failure: null }]);
    expect((await call(user, 'GET', '/api/users/me')).body.displayName).toBe('Chosen');
  });

  test('an event with an invalid payload is recorded as failed and does not hold up the next one', async () => {
    const userId = randomUUID();
    const invalid = await publishThroughOutbox(tenantA, 'user.signed_up', { userId, role: 'member' });
    const next = await publishThroughOutbox(tenantA, 'user.signed_up', {
      userId: randomUUID(),
      email: 'next@a.test',
      role: 'member',
    });
    await expect.poll(() => processedRows(tenantA, next), EVENTUALLY).toEqual([{ failure: null }]);
    expect(await processedRows(tenantA, invalid)).toEqual([
      { failure: expect.stringContaining('invalid payload: /email') },
    ]);
    expect(await profileRows(tenantA, userId)).toBe(0);
  });

  test('the same event delivered twice is processed once', async () => {
    const userId = randomUUID();
    const signedUp = createEvent({
      type: 'user.signed_up',
      tenant: tenantA,
      aggregateId: userId,
      payload: { userId, email: 'twice@a.test', role: 'member' },
    });
    const roleChanged = createEvent({
      type: 'user.role_changed',
      tenant: tenantA,
      aggregateId: userId,
      payload: { userId, role: 'owner', previousRole: 'member' },
    });
    const producer = kafka().producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      // One key, one partition: once the role change is handled, both copies were consumed before it.
      await producer.send({
        topic: eventsTopic(tenantA),
        messages: [signedUp, signedUp, roleChanged].map((event) => ({
          key: userId,
          value: serializeEvent(event),
        })),
      });
    } finally {
      await producer.disconnect();
    }

    const admin = await caller(tenantA, 'admin');
    await expect
      .poll(async () => (await call(admin, 'GET', `/api/users/${userId}`)).body.role, EVENTUALLY)
      .toBe('owner');
    expect(await profileRows(tenantA, userId)).toBe(1);
    expect(await processedRows(tenantA, signedUp)).toEqual([{ failure: null }]);
  });
});

async function processedRows(tenant: string, event: EventEnvelope) {
  return runtime.databases.sql(tenant)<{ failure: string | null }[]>`
    select failure from processed_events where consumer = 'users' and event_id = ${event.id}
  `;
}

describe('PATCH /api/users/me', () => {
  test.each<{ what: string; body: unknown; field: string }>([
    { what: 'an empty object', body: {}, field: '/body' },
    { what: 'an unknown property', body: { nickname: 'ada' }, field: '/body/nickname' },
    {
      what: 'an unknown property beside a valid one',
      body: { displayName: 'Ada', isAdmin: true },
      field: '/body/isAdmin',
    },
    { what: 'an empty display name', body: { displayName: '' }, field: '/body/displayName' },
    { what: 'a blank display name', body: { displayName: '   ' }, field: '/body/displayName' },
    {
      what: 'a display name of 101 characters',
      body: { displayName: 'x'.repeat(101) },
      field: '/body/displayName',
    },
    {
      what: 'an http avatar',
      body: { avatarUrl: 'http://cdn.example.test/a.png' },
      field: '/body/avatarUrl',
    },
    { what: 'an avatar URL without host', body: { avatarUrl: 'https://' }, field: '/body/avatarUrl' },
    {
      what: 'an avatar URL over 2048',
      body: { avatarUrl: `https://cdn.example.test/${'a'.repeat(2048)}` },
      field: '/body/avatarUrl',
    },
    { what: 'a number as display name', body: { displayName: 42 }, field: '/body/displayName' },
    { what: 'a string as preferences', body: { preferences: 'dark' }, field: '/body/preferences' },
    { what: 'a sentence as locale', body: { locale: 'english please' }, field: '/body/locale' },
    { what: 'a malformed locale', body: { locale: 'en-a' }, field: '/body/locale' },
    { what: 'an unknown time zone', body: { timezone: 'Mars/Olympus' }, field: '/body/timezone' },
    { what: 'an offset as time zone', body: { timezone: '+01:00' }, field: '/body/timezone' },
    { what: 'preferences that are no object', body: { preferences: ['dark'] }, field: '/body/preferences' },
    {
      what: 'an object as preference value',
      body: { preferences: { theme: { dark: true } } },
      field: '/body/preferences/theme',
    },
    {
      what: 'a preference key over 64',
      body: { preferences: { ['k'.repeat(65)]: 1 } },
      field: '/body/preferences',
    },
  ])('refuses $what with 400 naming $field', async ({ body, field }) => {
    const user = await caller(tenantA);
    const { status, body: error } = await call(user, 'PATCH', '/api/users/me', body);
    expect(status).toBe(400);
    expect(error).toEqual({
      error: { code: 'VALIDATION_FAILED', message: expect.any(String), field, requestId: expect.any(String) },
    });
  });

  test('a body that is not JSON at all is refused naming /body', async () => {
    const user = await caller(tenantA);
    const response = await app.inject({
      method: 'PATCH',
      url: '/api/users/me',
      headers: { [TENANT_HEADER]: tenantA, authorization: `Bearer ${user.token}` },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.field).toBe('/body');
  });

  test('changes only what is given, in normal form, and merges preferences', async () => {
    const user = await caller(tenantA);
    const first = await call(user, 'PATCH', '/api/users/me', {
      displayName: '  Ada Lovelace ',
      avatarUrl: 'https://cdn.example.test/ada.png',
      locale: 'pt-br',
      timezone: 'europe/lisbon',
      preferences: { theme: 'dark', compact: true, fontSize: 14 },
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      userId: user.userId,
      email: user.email,
      displayName: 'Ada Lovelace',
      avatarUrl: 'https://cdn.example.test/ada.png',
      locale: 'pt-BR',
      timezone: 'Europe/Lisbon',
      preferences: { theme: 'dark', compact: true, fontSize: 14 },
    });

    const second = await call(user, 'PATCH', '/api/users/me', {
      preferences: { compact: null, fontSize: 16, lang: 'pt', neverSet: null },
    });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({
      displayName: 'Ada Lovelace',
      locale: 'pt-BR',
      preferences: { theme: 'dark', fontSize: 16, lang: 'pt' },
    });
    expect(Object.keys(second.body.preferences).sort()).toEqual(['fontSize', 'lang', 'theme']);
    expect(Date.parse(second.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(first.body.updatedAt));
    expect(second.body.createdAt).toBe(first.body.createdAt);

    // Stored as a JSON object, not as a string holding one.
    const [stored] = await runtime.databases.sql(tenantA)<{ kind: string }[]>`
      select jsonb_typeof(preferences) as kind from profiles where user_id = ${user.userId}
    `;
    expect(stored?.kind).toBe('object');
    expect((await call(user, 'GET', '/api/users/me')).body).toEqual(second.body);
  });

  test(`keeps at most ${MAX_PREFERENCES} preferences after merging`, async () => {
    const user = await caller(tenantA);
    const full = Object.fromEntries(Array.from({ length: MAX_PREFERENCES }, (_, i) => [`key${i}`, i]));
    expect((await call(user, 'PATCH', '/api/users/me', { preferences: full })).status).toBe(200);

    const over = await call(user, 'PATCH', '/api/users/me', { preferences: { oneMore: true } });
    expect(over.status).toBe(400);
    expect(over.body.error).toMatchObject({ code: 'PREFERENCES_LIMIT_EXCEEDED', field: '/body/preferences' });

    const swapped = await call(user, 'PATCH', '/api/users/me', {
      preferences: { key0: null, oneMore: true },
    });
    expect(swapped.status).toBe(200);
    expect(Object.keys(swapped.body.preferences)).toHaveLength(MAX_PREFERENCES);
    expect(swapped.body.preferences).toMatchObject({ oneMore: true });
  });
});

describe('who may read what', () => {
  test('a member reads their own profile by id but no one else’s; admins and owners read any', async () => {
    const member = await caller(tenantA, 'member');
    const other = await caller(tenantA, 'member');
    await call(other, 'GET', '/api/users/me');

    expect((await call(member, 'GET', `/api/users/${member.userId}`)).status).toBe(200);
    const refused = await call(member, 'GET', `/api/users/${other.userId}`);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('ROLE_REQUIRED');

    for (const role of ['admin', 'owner'] as const) {
      const reader = await caller(tenantA, role);
      const read = await call(reader, 'GET', `/api/users/${other.userId}`);
      expect(read).toEqual({ status: 200, body: expect.objectContaining({ userId: other.userId }) });
    }
  });

  test('an unknown id is 404 USER_NOT_FOUND; a malformed one is 400 naming /params/id', async () => {
    const admin = await caller(tenantA, 'admin');
    const missing = await call(admin, 'GET', `/api/users/${randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('USER_NOT_FOUND');

    const malformed = await call(admin, 'GET', '/api/users/not-a-uuid');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: '/params/id' });
  });

  test('the list is for admins and owners only', async () => {
    const member = await caller(tenantA, 'member');
    const refused = await call(member, 'GET', '/api/users');
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('ROLE_REQUIRED');
    expect((await call(await caller(tenantA, 'owner'), 'GET', '/api/users?limit=1')).status).toBe(200);
  });

  test('without a token: 401 TOKEN_MISSING; without a tenant: 400', async () => {
    const noToken = await app.inject({
      method: 'GET',
      url: '/api/users/me',
      headers: { [TENANT_HEADER]: tenantA },
    });
    expect(noToken.statusCode).toBe(401);
    expect(noToken.json().error.code).toBe('TOKEN_MISSING');
    const user = await caller(tenantA);
    const noTenant = await app.inject({
      method: 'GET',
      url: '/api/users/me',
      headers: { authorization: `Bearer ${user.token}` },
    });
    expect(noTenant.statusCode).toBe(400);
    expect(noTenant.json().error.field).toBe(`/headers/${TENANT_HEADER}`);
  });
});

describe('GET /api/users pagination', () => {
  test('walks every profile once, in (createdAt, userId) order, ties included', async () => {
    const admin = await caller(tenantB, 'admin');
    for (let i = 0; i < 5; i++) await call(await caller(tenantB), 'GET', '/api/users/me');
    // Profiles created in the same millisecond: only the user id orders them.
    const sql = runtime.databases.sql(tenantB);
    await sql`
      insert into profiles (user_id, email, created_at)
      select gen_random_uuid(), 'tie' || n || '@b.test', '2030-01-01T00:00:00.000Z'
      from generate_series(1, 4) as n
    `;
    const expected = (await sql<{ id: string }[]>`select user_id::text as id from profiles`).map((r) => r.id);

    const seen: { userId: string; createdAt: string }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page = await call(admin, 'GET', `/api/users?limit=3${query}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor !== null && pages < 100);

    const ids = seen.map((profile) => profile.userId);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...expected].sort());
    const keys = seen.map((p) => [p.createdAt, p.userId] as const);
    const sorted = [...keys].sort(([ta, ia], [tb, ib]) =>
      ta === tb ? ia.localeCompare(ib) : ta.localeCompare(tb),
    );
    expect(keys).toEqual(sorted);
  });

  test('limit defaults to 20 and is bounded; a bad cursor is 400 naming /query/cursor', async () => {
    const admin = await caller(tenantB, 'admin');
    const page = await call(admin, 'GET', '/api/users');
    expect(page.status).toBe(200);
    expect(page.body.items.length).toBeLessThanOrEqual(20);

    for (const limit of ['0', '101', 'many']) {
      const refused = await call(admin, 'GET', `/api/users?limit=${limit}`);
      expect(refused.status).toBe(400);
      // service-kit names the part as Fastify does, querystring; the cursor's own check says query.
      expect(refused.body.error.field).toMatch(/^\/query(string)?\/limit$/);
    }
    const forged = Buffer.from(JSON.stringify({ after: 1 })).toString('base64url');
    for (const cursor of ['not*base64', forged]) {
      const refused = await call(admin, 'GET', `/api/users?cursor=${cursor}`);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: '/query/cursor' });
    }
    // A well-formed cursor past the end is simply the end.
    const past = encodeCursor({ createdAt: new Date('2999-01-01T00:00:00.000Z'), id: randomUUID() });
    expect((await call(admin, 'GET', `/api/users?cursor=${past}`)).body).toEqual({
      items: [],
      nextCursor: null,
    });
  });
});

describe('tenant isolation', () => {
  test("tenant A's token is refused at tenant B", async () => {
    const user = await caller(tenantA, 'owner');
    const response = await call(user, 'GET', '/api/users/me', undefined, tenantB);
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('TOKEN_INVALID');
  });

  test("tenant B's admin never sees tenant A's profiles", async () => {
    const userOfA = await caller(tenantA);
    await call(userOfA, 'GET', '/api/users/me');
    const adminOfB = await caller(tenantB, 'admin');

    expect((await call(adminOfB, 'GET', `/api/users/${userOfA.userId}`)).status).toBe(404);
    const all = await call(adminOfB, 'GET', '/api/users?limit=100');
    expect(all.status).toBe(200);
    expect(all.body.items.map((p: { userId: string }) => p.userId)).not.toContain(userOfA.userId);
    expect(all.body.items.every((p: { email: string }) => !p.email.endsWith(`@${tenantA}.test`))).toBe(true);
  });

  test("tenant A's credentials cannot open tenant B's database", async () => {
    const secret = await h.admin
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ name: appSecretName(tenantA), namespace: h.namespace });
    const field = (key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
    const intruder = postgres({
      host: field('host'),
      port: Number(field('port')),
      username: field('username'),
      password: field('password'),
      database: databaseName(tenantB),
      max: 1,
      onnotice: () => {},
    });
    try {
      const refused = await intruder`select user_id from profiles`.then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toMatchObject({ code: '42501', message: expect.stringContaining('permission denied') });
    } finally {
      await intruder.end({ timeout: 1 });
    }
  });
});

test('GET /metrics has the consumer lag of each tenant topic, 0 once its events are handled', async () => {
  const lagLine = (body: string, tenant: string) =>
    body
      .split('\n')
      .find((line) =>
        line.startsWith(
          `kafka_consumer_lag{group="${groupId}",topic="tenantry.${tenant}.events",partition="0"}`,
        ),
      );
  await expect
    .poll(async () => {
      const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      return [lagLine(body, tenantA), lagLine(body, tenantB)].map((line) => line?.split(' ').at(-1));
    }, EVENTUALLY)
    .toEqual(['0', '0']);
});

test('GET /health reports the service and Kafka; the OpenAPI document has every route', async () => {
  const health = await app.inject({ method: 'GET', url: '/health' });
  expect(health.statusCode).toBe(200);
  expect(health.json()).toMatchObject({ status: 'healthy', service: 'users', checks: { kafka: 'up' } });

  const { paths } = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  expect(Object.keys(paths['/api/users/me'])).toEqual(expect.arrayContaining(['get', 'patch']));
  expect(Object.keys(paths['/api/users/me'].patch.responses)).toEqual(
    expect.arrayContaining(['200', '400', '401', '403', '404', '503']),
  );
  expect(paths['/api/users/{id}'].get.parameters).toEqual(
    expect.arrayContaining([expect.objectContaining({ in: 'path', name: 'id' })]),
  );
  expect(paths['/api/users'].get.parameters).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ in: 'query', name: 'limit' }),
      expect.objectContaining({ in: 'query', name: 'cursor' }),
    ]),
  );
});

// Last: it suspends tenant B for good.
describe('a suspended tenant', () => {
  test('its requests are answered 503 TENANT_DATABASE_UNAVAILABLE with Retry-After, not 500', async () => {
    const admin = await caller(tenantB, 'admin');
    expect((await call(admin, 'GET', '/api/users?limit=1')).status).toBe(200);
    await h.patchTenantSpec(tenantB, { suspended: true });
    await expect
      .poll(async () => (await h.condition(tenantB, 'Ready'))?.reason, EVENTUALLY)
      .toBe('Suspended');

    // Its roles cannot log in and their sessions were ended: the database is unavailable, for now.
    for (const url of ['/api/users?limit=1', `/api/users/${admin.userId}`]) {
      const response = await app.inject({
        method: 'GET',
        url,
        headers: { [TENANT_HEADER]: tenantB, authorization: `Bearer ${admin.token}` },
      });
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBeDefined();
      expect(response.json().error.code).toBe('TENANT_DATABASE_UNAVAILABLE');
    }
  });
});
