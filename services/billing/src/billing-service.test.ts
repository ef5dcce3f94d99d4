import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  AdmissionregistrationV1Api,
  AuthorizationV1Api,
  type KubeConfig,
  type KubernetesObject,
  RbacAuthorizationV1Api,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import {
  devstack,
  serviceAccountKubeConfig,
  stripeMock,
  uniqueName,
  until,
} from '@tenantry/devstack/testing';
import { appendToOutbox, type ChatMessageCompleted, createEvent, serializeEvent } from '@tenantry/events';
import { type Role, TENANT_HEADER, TenantKeys } from '@tenantry/identity';
import { createLogger } from '@tenantry/logger';
import { startTenantRuntime, type TenantRuntime } from '@tenantry/service-runtime';
import { eventsTopic } from '@tenantry/tenant-api';
import {
  applyManifests,
  loadManifests,
  type OperatorHarness,
  startOperatorHarness,
} from '@tenantry/tenant-operator/testing';
import kafkajs from 'kafkajs';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { periodOf } from './billing-period.ts';
import { type BillingService, buildBillingService } from './billing-service.ts';
import { loadBillingConfig } from './config.ts';

/**
 * The billing service end to end: two tenants onboarded by the real operator, billing running as its
 * own service account with exactly the chart's RBAC, chat's events appended to the tenants' outboxes
 * and relayed to Kafka, Stripe played by stripe-mock, a clock the tests move to close a period.
 */
const { Kafka, logLevel } = kafkajs;
const EVENTUALLY = { timeout: 90_000, interval: 250 };
const WEBHOOK_SECRET = 'whsec_billing_test_secret';
const RBAC_FILE = new URL('../../../charts/billing/files/rbac.yaml', import.meta.url);

let h: OperatorHarness;
let runtime: TenantRuntime;
let signer: TenantKeys;
let billing: BillingService;
let billingKc: KubeConfig;
let tenantA: string;
let tenantB: string;
let groupId: string;
let clock = new Date();
const cleanups: (() => Promise<unknown>)[] = [];

// Expected failures (refused changes, malformed events, bad signatures) log; the tests assert on effects.
const logger = createLogger({ service: 'billing', level: 'fatal' });
const config = (env: Record<string, string> = {}) =>
  loadBillingConfig({
    ...env,
    PLATFORM_NAMESPACE: h.namespace,
    KAFKA_BROKERS: devstack().kafka.brokers.join(','),
    DB_MAX_CONNECTIONS_PER_TENANT: '3',
    LOG_LEVEL: 'fatal',
    STRIPE_SECRET_KEY: stripeMock().apiKey,
    STRIPE_API_URL: devstack().stripe.url,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
  });

async function startBilling(env: Record<string, string> = {}): Promise<BillingService> {
  return buildBillingService({
    runtime,
    config: config(env),
    logger,
    kc: billingKc,
    now: () => clock,
    events: {
      groupId,
      topicPattern: new RegExp(`^tenantry\\.(${tenantA}|${tenantB})\\.events$`),
      topicCheckIntervalMs: 1_000,
    },
  });
}

/** Billing's service account, bound to the Role and ClusterRole of charts/billing/files/rbac.yaml. */
async function billingServiceAccount(): Promise<KubeConfig> {
  const docs = loadManifests(fileURLToPath(RBAC_FILE)) as (KubernetesObject & { rules: V1PolicyRule[] })[];
  const rulesOf = (kind: string) => docs.find((doc) => doc.kind === kind)?.rules ?? [];
  const name = `tenantry-billing-${h.namespace}`;
  await applyManifests(
    h.admin,
    [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name },
        rules: rulesOf('ClusterRole'),
      } as KubernetesObject,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'tenantry-billing', namespace: h.namespace },
        rules: rulesOf('Role'),
      } as KubernetesObject,
    ],
    'tenantry-tests',
  );
  const rbac = h.admin.makeApiClient(RbacAuthorizationV1Api);
  const subjects = [{ kind: 'ServiceAccount', name: 'billing', namespace: h.namespace }];
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects,
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: h.namespace,
    body: {
      metadata: { name: 'tenantry-billing' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tenantry-billing' },
      subjects,
    },
  });
  cleanups.push(
    () => rbac.deleteClusterRoleBinding({ name }).catch(() => {}),
    () => rbac.deleteClusterRole({ name }).catch(() => {}),
  );
  return serviceAccountKubeConfig(h.admin, h.namespace, 'billing');
}

beforeAll(async () => {
  h = await startOperatorHarness();
  tenantA = h.tenantName('bil-a');
  tenantB = h.tenantName('bil-b');
  await Promise.all([h.createTenant(tenantA, {}), h.createTenant(tenantB, {})]);
  for (const tenant of [tenantA, tenantB]) {
    await until(
      `tenant ${tenant} Ready`,
      async () => (await h.condition(tenant, 'Ready'))?.status === 'True',
      EVENTUALLY,
    );
  }
  billingKc = await billingServiceAccount();
  const settings = config();
  // Billing's runtime with billing's own credentials: its Role must be enough to follow the tenants.
  runtime = await startTenantRuntime({ service: 'billing', settings, logger, kc: billingKc, relay: true });
  signer = await TenantKeys.start({ kc: h.admin, namespace: h.keysNamespace, signing: true });
  await until(
    'the runtime to follow both tenants',
    async () =>
      [tenantA, tenantB].every((t) => runtime.databases.has(t) && runtime.keys.has(t) && signer.has(t)),
    EVENTUALLY,
  );
  groupId = uniqueName('billing-test');
  billing = await startBilling();
}, 180_000);

afterAll(async () => {
  await billing?.app.close();
  await runtime?.close();
  await signer?.close();
  for (const cleanup of cleanups) await cleanup();
  if (groupId) {
    const admin = kafka().admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect();
  }
  await h?.stop();
});

function kafka() {
  return new Kafka({
    clientId: 'billing-test',
    brokers: devstack().kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
}

interface Caller {
  tenant: string;
  userId: string;
  token: string;
}

async function caller(tenant: string, role: Role = 'admin'): Promise<Caller> {
  const userId = randomUUID();
  const token = await signer.sign({
    sub: userId,
    tenant,
    role,
    email: `${userId.slice(0, 8)}@${tenant}.test`,
    emailVerified: true,
    sid: randomUUID(),
  });
  return { tenant, userId, token };
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

async function call(
  who: Caller | undefined,
  method: Method,
  url: string,
  body?: unknown,
  tenant = who?.tenant,
) {
  const response = await billing.app.inject({
    method,
    url,
    headers: {
      ...(tenant ? { [TENANT_HEADER]: tenant } : {}),
      ...(who ? { authorization: `Bearer ${who.token}` } : {}),
    },
    ...(body === undefined ? {} : { payload: body as object }),
  });
  return { status: response.statusCode, body: response.json() };
}

async function tenantPlan(tenant: string): Promise<string | undefined> {
  return (await h.getTenant(tenant))?.spec.plan;
}

async function outboxEvents(tenant: string, type: string) {
  return runtime.databases.sql(tenant)<{ payload: Record<string, unknown> }[]>`
    select payload from outbox where type = ${type} order by seq
  `;
}

describe('plans and subscriptions', () => {
  test('GET /plans lists the priced Plans of the cluster, cheapest first, in integer minor units', async () => {
    const { status, body } = await call(await caller(tenantA, 'member'), 'GET', '/api/billing/plans');
    expect(status).toBe(200);
    const names = body.items.map((plan: { name: string }) => plan.name);
    expect(names).toEqual(expect.arrayContaining(['free', 'pro', 'enterprise']));
    expect(names.indexOf('free')).toBeLessThan(names.indexOf('pro'));
    expect(body.items.find((plan: { name: string }) => plan.name === 'pro')).toEqual({
      name: 'pro',
      displayName: 'Pro',
      monthlyTokens: 2_000_000,
      basePriceMinor: 4900,
      currency: 'usd',
      includedTokens: 2_000_000,
      overagePerThousandTokensMinor: 2,
    });
  });

  test.each<{ what: string; body: unknown; status: number; code: string; field: string }>([
    {
      what: 'an unknown plan',
      body: { plan: 'platinum', billingEmail: 'b@a.test' },
      status: 400,
      code: 'UNKNOWN_PLAN',
      field: '/body/plan',
    },
    {
      what: 'a malformed plan name',
      body: { plan: 'Pro!', billingEmail: 'b@a.test' },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: '/body/plan',
    },
    {
      what: 'no billing email',
      body: { plan: 'pro' },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: '/body/billingEmail',
    },
    {
      what: 'a malformed email',
      body: { plan: 'pro', billingEmail: 'nobody' },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: '/body/billingEmail',
    },
    {
      what: 'an undeclared price',
      body: { plan: 'pro', billingEmail: 'b@a.test', priceMinor: 1 },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: '/body/priceMinor',
    },
  ])('POST /subscriptions refuses $what', async ({ body, status, code, field }) => {
    const response = await call(await caller(tenantA), 'POST', '/api/billing/subscriptions', body);
    expect(response.status).toBe(status);
    expect(response.body.error).toMatchObject({ code, field });
    if (code === 'UNKNOWN_PLAN') expect(response.body.error.message).toContain('platinum');
    expect(await tenantPlan(tenantA)).toBe('free');
  });

  test('a member may read plans but not manage the subscription (403)', async () => {
    const member = await caller(tenantA, 'member');
    for (const [method, url] of [
      ['GET', '/api/billing/subscriptions'],
      ['GET', '/api/billing/invoices'],
      ['GET', '/api/billing/usage'],
    ] as const) {
      const refused = await call(member, method, url);
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('ROLE_REQUIRED');
    }
    const post = await call(member, 'POST', '/api/billing/subscriptions', {
      plan: 'pro',
      billingEmail: 'm@a.test',
    });
    expect(post.status).toBe(403);
    expect(await tenantPlan(tenantA)).toBe('free');
  });

  test('subscribing patches Tenant.spec.plan, emits the event; the plan changes; the same plan is 409', async () => {
    const owner = await caller(tenantA, 'owner');
    const created = await call(owner, 'POST', '/api/billing/subscriptions', {
      plan: 'pro',
      billingEmail: 'billing@a.test',
    });
    expect(created.status).toBe(201);
    const period = periodOf(clock);
    expect(created.body).toMatchObject({
      plan: 'pro',
      status: 'active',
      billingEmail: 'billing@a.test',
      currentPeriodStart: period.start.toISOString(),
      currentPeriodEnd: period.end.toISOString(),
      cancelAtPeriodEnd: false,
    });
    expect(await tenantPlan(tenantA)).toBe('pro');
    expect((await outboxEvents(tenantA, 'billing.subscription_changed')).map((e) => e.payload)).toEqual([
      {
        subscriptionId: created.body.id,
        previousPlan: null,
        plan: 'pro',
        status: 'active',
        changedBy: owner.userId,
      },
    ]);

    const again = await call(owner, 'POST', '/api/billing/subscriptions', {
      plan: 'enterprise',
      billingEmail: 'x@a.test',
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('SUBSCRIPTION_EXISTS');

    const same = await call(owner, 'PUT', `/api/billing/subscriptions/${created.body.id}`, { plan: 'pro' });
    expect(same.status).toBe(409);
    expect(same.body.error.code).toBe('PLAN_UNCHANGED');

    const unknown = await call(owner, 'PUT', `/api/billing/subscriptions/${created.body.id}`, {
      plan: 'gold',
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: 'UNKNOWN_PLAN', field: '/body/plan' });

    const up = await call(owner, 'PUT', `/api/billing/subscriptions/${created.body.id}`, {
      plan: 'enterprise',
    });
    expect(up.status).toBe(200);
    expect(up.body.plan).toBe('enterprise');
    expect(await tenantPlan(tenantA)).toBe('enterprise');
    const down = await call(owner, 'PUT', `/api/billing/subscriptions/${created.body.id}`, { plan: 'pro' });
    expect(down.body.plan).toBe('pro');
    expect(await tenantPlan(tenantA)).toBe('pro');

    const missing = await call(owner, 'PUT', `/api/billing/subscriptions/${randomUUID()}`, { plan: 'free' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('SUBSCRIPTION_NOT_FOUND');
    // Tenant B's admin cannot reach A's subscription by its id.
    const intruder = await call(
      await caller(tenantB),
      'PUT',
      `/api/billing/subscriptions/${created.body.id}`,
      { plan: 'free' },
    );
    expect(intruder.status).toBe(404);
    expect(await tenantPlan(tenantA)).toBe('pro');
  });

  test('a change the API server refuses is a 409 and leaves the subscription as it was', async () => {
    const admission = h.admin.makeApiClient(AdmissionregistrationV1Api);
    const name = `billing-test-${tenantB}`;
    // Stands for any refusal of the API server (here: no downgrade to free for tenant B).
    await admission.createValidatingAdmissionPolicy({
      body: {
        metadata: { name },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {
            resourceRules: [
              {
                apiGroups: ['tenantry.dev'],
                apiVersions: ['*'],
                operations: ['UPDATE'],
                resources: ['tenants'],
              },
            ],
          },
          matchConditions: [{ name: 'this-tenant', expression: `object.metadata.name == '${tenantB}'` }],
          validations: [
            {
              expression: "object.spec.plan == oldObject.spec.plan || object.spec.plan != 'free'",
              message: 'downgrades to free are refused for this tenant',
            },
          ],
        },
      },
    });
    cleanups.push(() => admission.deleteValidatingAdmissionPolicy({ name }).catch(() => {}));
    await admission.createValidatingAdmissionPolicyBinding({
      body: { metadata: { name }, spec: { policyName: name, validationActions: ['Deny'] } },
    });
    cleanups.push(() => admission.deleteValidatingAdmissionPolicyBinding({ name }).catch(() => {}));

    const admin = await caller(tenantB);
    const created = await call(admin, 'POST', '/api/billing/subscriptions', {
      plan: 'pro',
      billingEmail: 'billing@b.test',
    });
    expect(created.status).toBe(201);
    // The policy takes effect once the API server loaded it: until then the downgrade would pass.
    let refused = { status: 0, body: {} as { error?: { code: string; message: string } } };
    await until(
      'the admission policy to refuse',
      async () => {
        refused = await call(admin, 'PUT', `/api/billing/subscriptions/${created.body.id}`, { plan: 'free' });
        if (refused.status === 200) {
          await call(admin, 'PUT', `/api/billing/subscriptions/${created.body.id}`, { plan: 'pro' });
          return false;
        }
        return true;
      },
      EVENTUALLY,
    );
    expect(refused.status).toBe(409);
    expect(refused.body.error?.code).toBe('PLAN_CHANGE_REFUSED');
    expect(refused.body.error?.message).toContain('downgrades to free are refused');
    const [subscription] = (await call(admin, 'GET', '/api/billing/subscriptions')).body.items;
    expect(subscription).toMatchObject({ id: created.body.id, plan: 'pro', status: 'active' });
    expect(await tenantPlan(tenantB)).toBe('pro');
  });

  test("billing's RBAC is exactly get/patch tenants and get/list plans, checked by the API server", async () => {
    const authorization = h.admin.makeApiClient(AuthorizationV1Api);
    const user = `system:serviceaccount:${h.namespace}:billing`;
    const may = async (verb: string, resource: string, namespace?: string) =>
      (
        await authorization.createSubjectAccessReview({
          body: {
            spec: {
              user,
              resourceAttributes: {
                verb,
                resource,
                ...(resource === 'tenants' || resource === 'plans' ? { group: 'tenantry.dev' } : {}),
                ...(namespace ? { namespace } : {}),
              },
            },
          },
        })
      ).status?.allowed === true;
    expect(await may('get', 'tenants')).toBe(true);
    expect(await may('patch', 'tenants')).toBe(true);
    expect(await may('get', 'plans')).toBe(true);
    expect(await may('list', 'plans')).toBe(true);
    for (const verb of ['create', 'delete', 'update', 'list', 'watch'])
      expect(await may(verb, 'tenants')).toBe(false);
    for (const verb of ['create', 'patch', 'update', 'delete']) expect(await may(verb, 'plans')).toBe(false);
    expect(await may('get', 'secrets', h.keysNamespace)).toBe(false);
    expect(await may('get', 'secrets', h.namespace)).toBe(true);
    expect(await may('create', 'secrets', h.namespace)).toBe(false);
  });
});

/** A chat.message_completed as chat publishes it (the payload schema of @tenantry/events). */
function chatUsage(inputTokens: number, outputTokens: number): ChatMessageCompleted {
  return {
    conversationId: randomUUID(),
    messageId: randomUUID(),
    userId: randomUUID(),
    provider: 'openai',
    model: 'gpt-4o-mini',
    inputTokens,
    outputTokens,
    estimated: false,
    costMicroUsd: 120,
    timeToFirstTokenMs: 180,
    durationMs: 900,
    status: 'completed',
  };
}

async function publishUsage(tenant: string, payloads: unknown[]) {
  const events = payloads.map((payload) =>
    createEvent({
      type: 'chat.message_completed',
      tenant,
      aggregateId: randomUUID(),
      payload: payload as ChatMessageCompleted,
    }),
  );
  await runtime.databases.withTransaction(tenant, async (tx) => {
    for (const event of events) await appendToOutbox(tx, event);
  });
  return events;
}

async function metered(tenant: string) {
  const [row] = await runtime.databases.sql(tenant)<{ tokens: string | null; messages: string | null }[]>`
    select sum(input_tokens + output_tokens)::text as tokens, sum(messages)::text as messages from usage_periods
  `;
  return { tokens: Number(row?.tokens ?? 0), messages: Number(row?.messages ?? 0) };
}

const EVENTS = 3_000;
const INPUT = 700;
const OUTPUT = 500;

describe('metering', () => {
  test(`${EVENTS} events with billing restarted in the middle and duplicates redelivered: 0 lost, 0 counted twice`, async () => {
    const half = EVENTS / 2;
    const first = await publishUsage(
      tenantA,
      Array.from({ length: half }, () => chatUsage(INPUT, OUTPUT)),
    );
    await expect.poll(async () => (await metered(tenantA)).messages, EVENTUALLY).toBeGreaterThan(0);
    // Stopped mid-stream: whatever was handled but not committed to Kafka is delivered again.
    await billing.app.close();
    const second = await publishUsage(
      tenantA,
      Array.from({ length: half }, () => chatUsage(INPUT, OUTPUT)),
    );
    billing = await startBilling();
    // Redeliveries, as after a producer retry: the same envelopes again.
    const producer = kafka().producer();
    await producer.connect();
    await producer.send({
      topic: eventsTopic(tenantA),
      messages: [...first.slice(0, 100), ...second.slice(-100)].map((event) => ({
        key: event.aggregateId,
        value: serializeEvent(event),
      })),
    });
    await producer.disconnect();

    const expected = { tokens: EVENTS * (INPUT + OUTPUT), messages: EVENTS };
    await expect.poll(() => metered(tenantA), EVENTUALLY).toEqual(expected);
    // Everything consumed, duplicates included: still exact.
    await expect
      .poll(async () => {
        const [row] = await runtime.databases.sql(
          tenantA,
        )`select count(*)::int as n from processed_events where consumer = 'billing'`;
        return row?.n;
      }, EVENTUALLY)
      .toBe(EVENTS);
    expect(await metered(tenantA)).toEqual(expected);
  }, 300_000);

  test('a malformed payload is recorded as skipped and not metered; GET /usage shows the period', async () => {
    const [bad] = await publishUsage(tenantA, [{ ...chatUsage(10, 10), inputTokens: -5 }]);
    const [good] = await publishUsage(tenantA, [chatUsage(1, 2)]);
    await expect
      .poll(async () => {
        const rows = await runtime.databases.sql(
          tenantA,
        )`select 1 from processed_events where event_id = ${good?.id ?? ''}`;
        return rows.length;
      }, EVENTUALLY)
      .toBe(1);
    const [skipped] = await runtime.databases.sql(
      tenantA,
    )`select reason from skipped_usage_events where event_id = ${bad?.id ?? ''}`;
    expect(skipped?.reason).toContain('/inputTokens');

    const usage = await call(await caller(tenantA), 'GET', '/api/billing/usage');
    const tokens = EVENTS * (INPUT + OUTPUT) + 3;
    expect(usage).toEqual({
      status: 200,
      body: {
        periodStart: periodOf(clock).start.toISOString(),
        periodEnd: periodOf(clock).end.toISOString(),
        plan: 'pro',
        inputTokens: EVENTS * INPUT + 1,
        outputTokens: EVENTS * OUTPUT + 2,
        meteredTokens: tokens,
        messages: EVENTS + 1,
        estimatedMessages: 0,
        includedTokens: 2_000_000,
        overageTokens: tokens - 2_000_000,
        projectedOverageMinor: Math.ceil((tokens - 2_000_000) / 1000) * 2,
        currency: 'usd',
      },
    });
  });
});

describe('invoices and payments', () => {
  let invoiceId: string;
  let paymentId: string;

  test('closing the period issues INV-000001: base + overage lines that add up, immutable, with its event', async () => {
    const tokens = EVENTS * (INPUT + OUTPUT) + 3;
    const overageUnits = Math.ceil((tokens - 2_000_000) / 1000);
    const period = periodOf(clock);
    clock = new Date(period.end.getTime() + 1_000);
    await billing.runScheduledTasks();
    await billing.runScheduledTasks(); // idempotent: the period is closed once

    const admin = await caller(tenantA);
    const list = await call(admin, 'GET', '/api/billing/invoices');
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    invoiceId = list.body.items[0].id;
    const invoice = await call(admin, 'GET', `/api/billing/invoices/${invoiceId}`);
    expect(invoice.body).toMatchObject({
      number: 'INV-000001',
      plan: 'pro',
      status: 'open',
      currency: 'usd',
      periodStart: period.start.toISOString(),
      periodEnd: period.end.toISOString(),
      totalMinor: 4900 + overageUnits * 2,
      lines: [
        { kind: 'base', quantity: 1, unitAmountMinor: 4900, amountMinor: 4900 },
        { kind: 'overage', quantity: overageUnits, unitAmountMinor: 2, amountMinor: overageUnits * 2 },
      ],
    });
    expect(
      invoice.body.lines.reduce((sum: number, l: { amountMinor: number }) => sum + l.amountMinor, 0),
    ).toBe(invoice.body.totalMinor);
    expect((await outboxEvents(tenantA, 'billing.invoice_issued')).map((e) => e.payload)).toEqual([
      expect.objectContaining({
        invoiceId,
        number: 'INV-000001',
        totalMinor: invoice.body.totalMinor,
        recipients: ['billing@a.test'],
      }),
    ]);
    // The subscription moved on to the next period.
    const [subscription] = (await call(admin, 'GET', '/api/billing/subscriptions')).body.items;
    expect(subscription.currentPeriodStart).toBe(period.end.toISOString());

    const sql = runtime.databases.sql(tenantA);
    await expect(sql`update invoices set total_minor = 1 where id = ${invoiceId}`).rejects.toThrow(
      /immutable/,
    );
    await expect(
      sql`update invoice_lines set amount_minor = 0 where invoice_id = ${invoiceId}`,
    ).rejects.toThrow(/immutable/);
    await expect(sql`delete from invoices where id = ${invoiceId}`).rejects.toThrow(/immutable/);
  });

  test("another tenant's invoice id is 404 INVOICE_NOT_FOUND; a member gets 403", async () => {
    const other = await call(await caller(tenantB), 'GET', `/api/billing/invoices/${invoiceId}`);
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('INVOICE_NOT_FOUND');
    const pay = await call(await caller(tenantB), 'POST', '/api/billing/payments', {
      invoiceId,
      paymentMethodId: 'pm_card_visa',
    });
    expect(pay.status).toBe(404);
    expect(
      (await call(await caller(tenantA, 'member'), 'GET', `/api/billing/invoices/${invoiceId}`)).status,
    ).toBe(403);
  });

  test('POST /payments charges through Stripe (stripe-mock): pending until the webhook settles it', async () => {
    const admin = await caller(tenantA);
    const bad = await call(admin, 'POST', '/api/billing/payments', {
      invoiceId,
      paymentMethodId: '4242424242424242',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('/body/paymentMethodId');
    const paid = await call(admin, 'POST', '/api/billing/payments', {
      invoiceId,
      paymentMethodId: 'pm_card_visa',
    });
    expect(paid.status).toBe(201);
    expect(paid.body).toMatchObject({ invoiceId, status: 'pending', currency: 'usd' });
    paymentId = paid.body.id;
    const [row] = await runtime.databases.sql(
      tenantA,
    )`select provider_payment_id from payments where id = ${paymentId}`;
    expect(row?.provider_payment_id).toMatch(/^pi_/);
    const [subscription] = await runtime.databases.sql(
      tenantA,
    )`select provider_customer_id from subscriptions`;
    expect(subscription?.provider_customer_id).toMatch(/^cus_/);
  });

  function webhook(
    type: string,
    metadata: Record<string, string>,
    options: { secret?: string; timestamp?: number } = {},
  ) {
    const payload = JSON.stringify({
      id: `evt_${randomUUID().replaceAll('-', '')}`,
      object: 'event',
      type,
      api_version: '2026-11-18',
      created: Math.floor(Date.now() / 1000),
      data: {
        object: {
          id: `pi_${randomUUID().slice(0, 8)}`,
          object: 'payment_intent',
          metadata,
          last_payment_error: null,
        },
      },
    });
    const header = Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: options.secret ?? WEBHOOK_SECRET,
      ...(options.timestamp ? { timestamp: options.timestamp } : {}),
    });
    return { payload, header };
  }

  async function deliver(hook: { payload: string; header: string }, tenant = tenantA) {
    const response = await billing.app.inject({
      method: 'POST',
      url: '/api/billing/webhooks/stripe',
      headers: {
        [TENANT_HEADER]: tenant,
        'content-type': 'application/json',
        'stripe-signature': hook.header,
      },
      payload: hook.payload,
    });
    return { status: response.statusCode, body: response.json() };
  }

  async function invoiceStatus() {
    return (await call(await caller(tenantA), 'GET', `/api/billing/invoices/${invoiceId}`)).body.status;
  }

  test('webhooks: a bad or stale signature is 400 and applies nothing; a good one applies once', async () => {
    const meta = { tenant: tenantA, paymentId, invoiceId };
    const forged = await deliver(webhook('payment_intent.succeeded', meta, { secret: 'whsec_wrong' }));
    expect(forged.status).toBe(400);
    expect(forged.body.error).toMatchObject({
      code: 'WEBHOOK_SIGNATURE_INVALID',
      field: '/headers/stripe-signature',
    });
    const stale = await deliver(
      webhook('payment_intent.succeeded', meta, { timestamp: Math.floor(Date.now() / 1000) - 600 }),
    );
    expect(stale.status).toBe(400);
    const tampered = webhook('payment_intent.succeeded', meta);
    expect((await deliver({ ...tampered, payload: tampered.payload.replace(tenantA, tenantB) })).status).toBe(
      400,
    );
    expect(await invoiceStatus()).toBe('open');

    // Signed for tenant A, delivered at B's host: acknowledged, not applied to anyone.
    expect((await deliver(webhook('payment_intent.succeeded', meta), tenantB)).body).toEqual({
      received: true,
      applied: false,
    });
    expect((await deliver(webhook('customer.created', meta))).body).toEqual({
      received: true,
      applied: false,
    });

    const good = webhook('payment_intent.succeeded', meta);
    expect(await deliver(good)).toEqual({ status: 200, body: { received: true, applied: true } });
    expect(await deliver(good)).toEqual({ status: 200, body: { received: true, applied: false } });
    expect(await invoiceStatus()).toBe('paid');
    expect((await outboxEvents(tenantA, 'billing.payment_succeeded')).map((e) => e.payload)).toEqual([
      expect.objectContaining({ paymentId, invoiceId, currency: 'usd' }),
    ]);
    // A paid invoice is not paid twice.
    const again = await call(await caller(tenantA), 'POST', '/api/billing/payments', {
      invoiceId,
      paymentMethodId: 'pm_card_visa',
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('INVOICE_NOT_OPEN');
  });

  /**
   * Tenant B's owner pays `invoiceId` with a card that is declined, then the scheduler retries on the
   * schedule (3, 5, 7 days later), each attempt failed by a webhook. Returns the subscription's status
   * after each failure; checks that no retry comes early and that one is pending at a time.
   */
  async function failEveryAttempt(invoiceId: string, options = { readLastStatus: true }): Promise<string[]> {
    const admin = await caller(tenantB);
    const pending = async () =>
      (
        await runtime.databases.sql(tenantB)`
          select id from payments where invoice_id = ${invoiceId} and status = 'pending'
        `
      ).map((row) => row.id as string);
    const statuses: string[] = [];
    const fail = async (paymentId: string) => {
      const hook = webhook('payment_intent.payment_failed', { tenant: tenantB, paymentId, invoiceId });
      expect((await deliver(hook, tenantB)).body.applied).toBe(true);
      if (statuses.length === 3 && !options.readLastStatus) return;
      statuses.push((await call(admin, 'GET', '/api/billing/subscriptions')).body.items[0].status);
    };
    const first = await call(admin, 'POST', '/api/billing/payments', {
      invoiceId,
      paymentMethodId: 'pm_card_chargeDeclined',
    });
    expect(first.status).toBe(201);
    await fail(first.body.id);
    for (const days of [3, 5, 7]) {
      clock = new Date(clock.getTime() + (days - 1) * 86_400_000);
      await billing.runScheduledTasks();
      expect(await pending()).toEqual([]); // not due yet
      clock = new Date(clock.getTime() + 86_400_000);
      await billing.runScheduledTasks();
      const [retried] = await pending();
      expect(retried).toBeDefined();
      await billing.runScheduledTasks(); // one pending payment at a time
      expect(await pending()).toHaveLength(1);
      await fail(retried as string);
    }
    return statuses;
  }

  test('failed payments follow the retry schedule; after the last the subscription is past_due', async () => {
    const admin = await caller(tenantB);
    clock = new Date(periodOf(clock).end.getTime() + 1_000);
    await billing.runScheduledTasks();
    // B's first period closed with A's; this is its second: numbers are sequential per tenant.
    const { items } = (await call(admin, 'GET', '/api/billing/invoices')).body;
    expect(items.map((i: { number: string }) => i.number)).toEqual(['INV-000002', 'INV-000001']);
    const [invoice] = items;
    expect(invoice).toMatchObject({ totalMinor: 4900, status: 'open' });
    const firstFailure = clock;
    const statuses = await failEveryAttempt(invoice.id);
    expect(statuses).toEqual(['active', 'active', 'active', 'past_due']);
    const failed = (await outboxEvents(tenantB, 'billing.payment_failed')).map((e) => e.payload);
    expect(failed).toHaveLength(4);
    expect(failed[0]).toMatchObject({
      recipients: ['billing@b.test'],
      nextAttemptAt: new Date(firstFailure.getTime() + 3 * 86_400_000).toISOString(),
    });
    expect(failed[3]).toMatchObject({ nextAttemptAt: null });
    const [subscription] = (await call(admin, 'GET', '/api/billing/subscriptions')).body.items;
    expect(subscription.status).toBe('past_due');
    // The suspension policy is opt-in and off here.
    expect((await h.getTenant(tenantB))?.spec.suspended ?? false).toBe(false);
  });

  test('under the opt-in policy a tenant whose subscription falls past_due is suspended', async () => {
    const admin = await caller(tenantB);
    // Paying the open invoice makes the past_due subscription active again.
    const [open] = (await call(admin, 'GET', '/api/billing/invoices')).body.items;
    const paid = await call(admin, 'POST', '/api/billing/payments', {
      invoiceId: open.id,
      paymentMethodId: 'pm_card_visa',
    });
    const hook = webhook('payment_intent.succeeded', {
      tenant: tenantB,
      paymentId: paid.body.id,
      invoiceId: open.id,
    });
    expect((await deliver(hook, tenantB)).body.applied).toBe(true);
    expect((await call(admin, 'GET', '/api/billing/subscriptions')).body.items[0].status).toBe('active');

    await billing.app.close();
    billing = await startBilling({ SUSPEND_PAST_DUE_TENANTS: 'true' });
    clock = new Date(periodOf(clock).end.getTime() + 1_000);
    await billing.runScheduledTasks();
    const [third] = (await call(admin, 'GET', '/api/billing/invoices')).body.items;
    expect(third.number).toBe('INV-000003');
    // Suspended, the tenant's database is closed to billing too: the last status is not read back.
    const statuses = await failEveryAttempt(third.id, { readLastStatus: false });
    expect(statuses).toEqual(['active', 'active', 'active']);
    expect((await h.getTenant(tenantB))?.spec.suspended).toBe(true);
    await expect
      .poll(async () => (await h.condition(tenantB, 'Ready'))?.reason, EVENTUALLY)
      .toBe('Suspended');
  });

  test('cancel at period end, then immediately: back to the free plan, the row kept as history', async () => {
    const admin = await caller(tenantA);
    const [live] = (await call(admin, 'GET', '/api/billing/subscriptions')).body.items;
    const later = await call(admin, 'DELETE', `/api/billing/subscriptions/${live.id}`);
    expect(later.body).toMatchObject({ status: 'active', cancelAtPeriodEnd: true });
    expect(await tenantPlan(tenantA)).toBe('pro');
    const now = await call(admin, 'DELETE', `/api/billing/subscriptions/${live.id}?immediately=true`);
    expect(now.body).toMatchObject({ status: 'canceled', canceledAt: clock.toISOString() });
    expect(await tenantPlan(tenantA)).toBe('free');
    const twice = await call(admin, 'DELETE', `/api/billing/subscriptions/${live.id}?immediately=true`);
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('SUBSCRIPTION_CANCELED');
    // A new subscription may start once the old one is canceled.
    const fresh = await call(admin, 'POST', '/api/billing/subscriptions', {
      plan: 'pro',
      billingEmail: 'billing@a.test',
    });
    expect(fresh.status).toBe(201);
    expect(await tenantPlan(tenantA)).toBe('pro');

    // Canceled at period end: the scheduler bills the period, then ends the subscription.
    await call(admin, 'DELETE', `/api/billing/subscriptions/${fresh.body.id}`);
    const periodEnd = fresh.body.currentPeriodEnd;
    clock = new Date(Date.parse(periodEnd) + 1_000);
    await billing.runScheduledTasks();
    const [ended] = (await call(admin, 'GET', '/api/billing/subscriptions')).body.items;
    expect(ended).toMatchObject({ id: fresh.body.id, status: 'canceled', canceledAt: periodEnd });
    expect(await tenantPlan(tenantA)).toBe('free');
    const [last] = (await call(admin, 'GET', '/api/billing/invoices')).body.items;
    expect(last).toMatchObject({ periodEnd, plan: 'pro' });
  });
});

test('GET /health reports Kafka; the OpenAPI document has the billing routes', async () => {
  const health = await billing.app.inject({ method: 'GET', url: '/health' });
  expect(health.json()).toMatchObject({ status: 'healthy', service: 'billing', checks: { kafka: 'up' } });
  const { paths } = (await billing.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  expect(Object.keys(paths['/api/billing/subscriptions/{id}'])).toEqual(
    expect.arrayContaining(['put', 'delete']),
  );
  for (const path of [
    '/api/billing/plans',
    '/api/billing/usage',
    '/api/billing/invoices/{id}',
    '/api/billing/payments',
    '/api/billing/webhooks/stripe',
  ]) {
    expect(paths[path]).toBeDefined();
  }
});
