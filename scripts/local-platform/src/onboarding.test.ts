import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminSql, devstack, uniqueName } from '@tenantry/devstack/testing';
import { createLogger } from '@tenantry/logger';
import { routedServices } from '@tenantry/service-registry';
import { databaseName } from '@tenantry/tenant-api';
import { type OperatorHarness, startOperatorHarness } from '@tenantry/tenant-operator/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { localServiceEnv } from './local-env.ts';
import { type PlatformServices, startPlatformServices } from './platform-services.ts';

/**
 * The onboarding story end to end, as a platform engineer and a tenant's users live it: a Tenant is
 * applied, becomes Ready, and its users sign up, sign in and read their profile through the gateway
 * on the tenant's own host; a second tenant is isolated from it; suspension, resumption and deletion
 * behave. Everything is real: operator, API server, PostgreSQL, Kafka, gateway, auth and users.
 */
const READY = { timeout: 60_000, interval: 200 };
const EVENTUALLY = { timeout: 30_000, interval: 200 };
let h: OperatorHarness;
let platform: PlatformServices;
/** Prefixes this file's tenant names, so the users consumer follows only their topics. */
const run = uniqueName('e2e').replace('-', '');

beforeAll(async () => {
  h = await startOperatorHarness();
  platform = await startPlatformServices({
    kc: h.admin,
    namespace: h.namespace,
    kafkaBrokers: devstack().kafka.brokers,
    logger: createLogger({ service: 'e2e', level: 'silent' }),
    freePorts: true,
    // Auth invites a tenant's designated admin within a second of the tenant being served.
    env: {
      ...localServiceEnv(devstack()),
      ADMIN_INVITATION_SWEEP_SECONDS: '1',
      // The in-process engine's path is held by one process at a time: this file's own.
      CLICKHOUSE_PATH: join(tmpdir(), uniqueName('e2e-clickhouse')),
    },
    // Only this file's tenants: the shared Kafka holds other runs' topics, whose databases are not ours.
    consumers: {
      groupPrefix: uniqueName('e2e'),
      topicPattern: new RegExp(`^tenantry\\.${run}-.*\\.events$`),
      topicCheckIntervalMs: 500,
    },
  });
});
afterAll(async () => {
  await platform?.stop();
  await h?.stop();
});

interface Call {
  status: number;
  body: Record<string, unknown> & { error?: { code: string } };
}

/**
 * A request to the gateway as a browser at `host` sends it. node:http rather than fetch: fetch drops
 * a Host header (a forbidden header name), and the Host is the whole point here.
 */
function call(
  host: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string } = {},
): Promise<Call> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${platform.urls.gateway}${path}`,
      {
        method,
        headers: {
          host,
          ...(payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function onboard(prefix: string, admin?: string): Promise<{ name: string; host: string }> {
  const name = h.tenantName(`${run}-${prefix}`);
  await h.createTenant(name, {
    displayName: prefix,
    plan: 'pro',
    database: { reclaimPolicy: 'Retain' },
    ...(admin ? { admin: { email: admin } } : {}),
  });
  await expect.poll(async () => (await h.condition(name, 'Ready'))?.status, READY).toBe('True');
  const host = `${name}.${h.baseDomain}`;
  // Ready means provisioned; the services see the new Secrets a moment later, without a restart.
  await expect
    .poll(async () => {
      const r = await call(host, 'GET', '/api/auth/.well-known/jwks.json');
      return `${r.status} ${JSON.stringify(r.body.error ?? {})}`;
    }, EVENTUALLY)
    .toMatch(/^200/);
  return { name, host };
}

const PASSWORD = 'correct horse battery';

/** A one-time token of the tenant's, as the notifications service would email it (read from the outbox). */
async function emailedToken(tenant: string, type: string, email: string): Promise<string | undefined> {
  const db = adminSql({ database: databaseName(tenant) });
  try {
    const [event] = await db<{ token: string }[]>`
      select payload->>'token' as token from outbox
      where type = ${type} and payload->>'email' = ${email}
      order by seq desc limit 1`;
    return event?.token;
  } finally {
    await db.end();
  }
}

/** Sign-up, the verification link (unverified accounts cannot sign in), sign-in. */
async function signupAndSignin(tenant: string, host: string, email: string) {
  expect((await call(host, 'POST', '/api/auth/signup', { body: { email, password: PASSWORD } })).status).toBe(
    202,
  );
  const token = await emailedToken(tenant, 'user.email_verification_requested', email);
  const verified = await call(host, 'POST', '/api/auth/verify-email', {
    body: { token, password: PASSWORD },
  });
  expect(verified.status).toBe(200);
  const signin = await call(host, 'POST', '/api/auth/signin', { body: { email, password: PASSWORD } });
  expect(signin.status).toBe(200);
  return signin.body as { accessToken: string; user: { id: string } };
}

describe('onboarding a tenant', () => {
  test('apply → Ready → signup, signin, me through the gateway; isolation; suspend; resume; delete with Retain', async () => {
    const acme = await onboard('acme');
    // globex names its first owner: auth invites that address, and only the invitation makes an owner.
    const globex = await onboard('globex', 'boss@globex.test');

    // The platform's aggregate health: every service of the registry runs and is healthy.
    expect(await call('localhost', 'GET', '/api/health')).toMatchObject({
      status: 200,
      body: {
        gateway: 'healthy',
        services: Object.fromEntries(routedServices.map((service) => [service.name, 'healthy'])),
      },
    });

    // A user of acme, on acme's host.
    const ada = await signupAndSignin(acme.name, acme.host, 'ada@acme.test');
    const me = await call(acme.host, 'GET', '/api/auth/me', { token: ada.accessToken });
    expect(me).toMatchObject({ status: 200, body: { email: 'ada@acme.test', role: 'member' } });
    const profile = await call(acme.host, 'GET', '/api/users/me', { token: ada.accessToken });
    expect(profile).toMatchObject({ status: 200, body: { email: 'ada@acme.test' } });
    expect(await call(acme.host, 'GET', '/api/users/me')).toMatchObject({
      status: 401,
      body: { error: { code: 'TOKEN_MISSING' } },
    });

    // globex cannot use acme's token, cannot see acme's users, and its host does not reach acme.
    const atGlobex = await call(globex.host, 'GET', '/api/users/me', { token: ada.accessToken });
    expect(atGlobex).toMatchObject({ status: 401, body: { error: { code: 'TOKEN_INVALID' } } });
    expect(
      (
        await call(globex.host, 'POST', '/api/auth/signin', {
          body: { email: 'ada@acme.test', password: PASSWORD },
        })
      ).status,
    ).toBe(401);
    await expect
      .poll(() => emailedToken(globex.name, 'user.invitation_requested', 'boss@globex.test'), EVENTUALLY)
      .toBeDefined();
    const invitation = await emailedToken(globex.name, 'user.invitation_requested', 'boss@globex.test');
    const accepted = await call(globex.host, 'POST', '/api/auth/accept-invitation', {
      body: { token: invitation, password: PASSWORD },
    });
    expect(accepted.status).toBe(200);
    const owner = (
      await call(globex.host, 'POST', '/api/auth/signin', {
        body: { email: 'boss@globex.test', password: PASSWORD },
      })
    ).body as { accessToken: string; user: { id: string; role: string } };
    expect(owner.user.role).toBe('owner');
    // The profile comes from the user.signed_up event (outbox → Kafka → users), a moment after signup.
    const listed = async () => {
      const list = await call(globex.host, 'GET', '/api/users?limit=100', { token: owner.accessToken });
      return list.status === 200 ? (list.body.items as { email: string }[]).map((item) => item.email) : [];
    };
    await expect.poll(listed, EVENTUALLY).toContain('boss@globex.test');
    expect(await listed()).not.toContain('ada@acme.test');
    expect(
      (await call(globex.host, 'GET', `/api/users/${ada.user.id}`, { token: owner.accessToken })).status,
    ).toBe(404);
    expect(owner.user.id).not.toBe(ada.user.id);

    // The workload services answer through the gateway with the tenant's tokens: a chat reply from the
    // provider fakes, the plans on offer, and the owner's analytics.
    const reply = await call(acme.host, 'POST', '/api/chat', {
      token: ada.accessToken,
      body: { message: 'Hello', provider: 'openai', model: 'gpt-4o-mini' },
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ usage: { outputTokens: expect.any(Number) } });
    const plans = await call(acme.host, 'GET', '/api/billing/plans');
    expect(plans.status).toBe(200);
    expect((plans.body.items as { name: string }[]).map((plan) => plan.name)).toEqual(
      expect.arrayContaining(['free', 'pro', 'enterprise']),
    );
    const today = new Date().toISOString().slice(0, 10);
    const signups = await call(
      globex.host,
      'GET',
      `/api/analytics/users/signups?startDate=${today}&endDate=${today}`,
      { token: owner.accessToken },
    );
    expect(signups.status).toBe(200);
    expect(
      (
        await call(acme.host, 'GET', `/api/analytics/users/signups?startDate=${today}&endDate=${today}`, {
          token: ada.accessToken,
        })
      ).status,
    ).toBe(403);

    // Suspended: every request to acme's host is refused, data untouched; resumed: it works again.
    await h.patchTenantSpec(acme.name, { suspended: true });
    // The database refuses the tenant's role first (503 TENANT_DATABASE_UNAVAILABLE), then the gateway
    // stops routing it once the Ingress says so; both are 503.
    const suspendedAnswer = async () => {
      const r = await call(acme.host, 'GET', '/api/auth/me', { token: ada.accessToken });
      return `${r.status} ${r.body.error?.code}`;
    };
    await expect.poll(suspendedAnswer, EVENTUALLY).toBe('503 TENANT_SUSPENDED');
    await h.patchTenantSpec(acme.name, { suspended: false });
    await expect
      .poll(
        async () => (await call(acme.host, 'GET', '/api/users/me', { token: ada.accessToken })).status,
        READY,
      )
      .toBe(200);

    // Deleted with reclaimPolicy Retain: the host is gone, the data is still in PostgreSQL.
    await h.deleteTenant(acme.name);
    await expect
      .poll(async () => (await call(acme.host, 'GET', '/api/auth/.well-known/jwks.json')).status, READY)
      .toBe(404);
    expect((await call(acme.host, 'GET', '/api/auth/.well-known/jwks.json')).body.error?.code).toBe(
      'TENANT_NOT_FOUND',
    );
    const kept = adminSql({ database: databaseName(acme.name) });
    try {
      expect(await kept`select email from auth_users`).toEqual([{ email: 'ada@acme.test' }]);
    } finally {
      await kept.end();
    }
    // globex is unaffected.
    expect((await call(globex.host, 'GET', '/api/auth/me', { token: owner.accessToken })).status).toBe(200);
  });
});
