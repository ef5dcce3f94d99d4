import { uniqueName } from '@tenantry/devstack/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  createPlan,
  type Echo,
  EVENTUALLY,
  type GatewayHarness,
  send,
  startGatewayHarness,
} from './test-support.ts';

/**
 * Tenancy at the edge against the real operator and API server: a tenant is the Host, never a
 * header; suspension, tokens and plan rate limits are enforced per tenant; tenants created while the
 * gateway runs are served without a restart (every tenant here is).
 */
let h: GatewayHarness;
let acme: string;
let globex: string;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  h = await startGatewayHarness();
  [acme, globex] = await Promise.all([
    h.tenant({ domains: [`chat.${uniqueName('acme')}.example`] }, 'acme'),
    h.tenant({}, 'globex'),
  ]);
});
afterAll(async () => {
  // Tenants first (stop deletes them), then the plans they were on.
  await h?.stop();
  for (const cleanup of cleanups) await cleanup();
});

async function bearer(tenant: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await h.token(tenant)}` };
}

describe('tenant by Host', () => {
  test('a request reaches the service of its path with the tenant of its Host, not of its headers', async () => {
    const response = await send(h.url, h.host(acme), '/api/users/me?fields=name', {
      headers: {
        ...(await bearer(acme)),
        'x-tenantry-tenant': globex,
        'x-tenantry-role': 'owner',
        'x-request-id': 'req-acme-1',
        'x-forwarded-for': '203.0.113.9',
      },
    });
    expect(response.status).toBe(200);
    const echo = response.json<Echo>();
    expect(echo).toMatchObject({ service: 'users', method: 'GET', url: '/api/users/me?fields=name' });
    expect(echo.headers['x-tenantry-tenant']).toBe(acme);
    expect(echo.headers).not.toHaveProperty('x-tenantry-role');
    expect(echo.headers.authorization).toMatch(/^Bearer /);
    // The request id joins the gateway's log lines and the service's; the client is the TCP peer,
    // whatever X-Forwarded-For it sent, since no proxy in front is trusted.
    expect(response.headers['x-request-id']).toBe('req-acme-1');
    expect(echo.headers['x-request-id']).toBe('req-acme-1');
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echo.headers['x-forwarded-proto']).toBe('http');
    expect(echo.headers['x-forwarded-host']).toBe(h.host(acme));
    // Written once the response is sent, so possibly after the client has it.
    await expect
      .poll(() => h.logs.some((line) => line.requestId === 'req-acme-1' && line.tenant === acme), EVENTUALLY)
      .toBe(true);
  });

  test('each prefix goes to its own service, path and method kept', async () => {
    for (const service of ['auth', 'users', 'chat', 'billing', 'notifications', 'analytics']) {
      const response = await send(h.url, h.host(globex), `/api/${service}/things/1`, {
        method: 'PUT',
        headers: { ...(await bearer(globex)), 'content-type': 'application/json' },
        body: '{"name":"x"}',
      });
      expect(response.status).toBe(200);
      expect(response.json<Echo>()).toMatchObject({
        service,
        method: 'PUT',
        url: `/api/${service}/things/1`,
        bodyBytes: 12,
      });
    }
  });

  test("a tenant's own domain is routed too, whatever the case and port of the Host", async () => {
    const tenant = await h.operator.getTenant(acme);
    const domain = tenant?.spec.domains?.[0] ?? '';
    const response = await send(h.url, `${domain.toUpperCase()}:8443`, '/api/chat/conversations', {
      headers: await bearer(acme),
    });
    expect(response.status).toBe(200);
    expect(response.json<Echo>().headers['x-tenantry-tenant']).toBe(acme);
  });

  test('an unknown host is a 404 TENANT_NOT_FOUND, whatever tenant header the client sends', async () => {
    const response = await send(h.url, 'nobody.example', '/api/users/me', {
      headers: { 'x-tenantry-tenant': acme, ...(await bearer(acme)) },
    });
    expect(response.status).toBe(404);
    expect(response.json()).toEqual({
      error: {
        code: 'TENANT_NOT_FOUND',
        message: 'no tenant is served at this host',
        requestId: response.headers['x-request-id'],
      },
    });
  });

  test('a path no service owns is a 404 NOT_FOUND', async () => {
    const response = await send(h.url, h.host(acme), '/api/inventory/items', { headers: await bearer(acme) });
    expect(response.status).toBe(404);
    expect(response.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});

describe('access tokens at the edge', () => {
  test('public auth routes need no token', async () => {
    for (const [method, path] of [
      ['POST', '/api/auth/signup'],
      ['POST', '/api/auth/signin'],
      ['POST', '/api/auth/refresh'],
      ['POST', '/api/auth/forgot-password'],
      ['GET', '/api/auth/.well-known/jwks.json'],
    ] as const) {
      const response = await send(h.url, h.host(acme), path, {
        method,
        ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}),
      });
      expect(response.status, `${method} ${path}`).toBe(200);
      expect(response.json<Echo>().headers['x-tenantry-tenant']).toBe(acme);
    }
  });

  test('without a token: 401 TOKEN_MISSING; a public path with another method is not public', async () => {
    for (const [method, path] of [
      ['GET', '/api/users/me'],
      ['GET', '/api/auth/signin'],
      ['POST', '/api/auth/signin/../me'],
      ['DELETE', '/api/chat/conversations/1'],
    ] as const) {
      const response = await send(h.url, h.host(acme), path, { method });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(response.json()).toMatchObject({
        error: { code: 'TOKEN_MISSING', field: '/headers/authorization' },
      });
      expect(response.headers['www-authenticate']).toBe('Bearer');
    }
  });

  test("another tenant's token, a forged and an expired token are refused with their codes", async () => {
    const crossTenant = await send(h.url, h.host(acme), '/api/users/me', { headers: await bearer(globex) });
    expect(crossTenant.status).toBe(401);
    expect(crossTenant.json()).toMatchObject({ error: { code: 'TOKEN_INVALID' } });

    const [header, payload] = (await h.token(acme)).split('.');
    const forged = await send(h.url, h.host(acme), '/api/users/me', {
      headers: { authorization: `Bearer ${header}.${payload}.c2lnbmF0dXJl` },
    });
    expect(forged.status).toBe(401);
    expect(forged.json()).toMatchObject({ error: { code: 'TOKEN_INVALID' } });

    const expired = await send(h.url, h.host(acme), '/api/users/me', {
      headers: { authorization: `Bearer ${await h.token(acme, -60)}` },
    });
    expect(expired.status).toBe(401);
    expect(expired.json()).toMatchObject({ error: { code: 'TOKEN_EXPIRED' } });
  });
});

describe('onboarding', () => {
  test('a tenant created while the gateway runs is served without a restart', async () => {
    const tenant = await h.tenant({}, 'late');
    const response = await send(h.url, h.host(tenant), '/api/billing/subscriptions', {
      headers: await bearer(tenant),
    });
    expect(response.status).toBe(200);
    expect(response.json<Echo>().headers['x-tenantry-tenant']).toBe(tenant);
  });
});

describe('suspension', () => {
  test('a suspended tenant is answered 503 TENANT_SUSPENDED, and served again once resumed', async () => {
    const tenant = await h.tenant({}, 'susp');
    const headers = await bearer(tenant);
    expect((await send(h.url, h.host(tenant), '/api/users/me', { headers })).status).toBe(200);

    await h.operator.patchTenantSpec(tenant, { suspended: true });
    await expect
      .poll(async () => (await send(h.url, h.host(tenant), '/api/users/me', { headers })).status, EVENTUALLY)
      .toBe(503);
    const suspended = await send(h.url, h.host(tenant), '/api/auth/signin', { method: 'POST' });
    expect(suspended.status).toBe(503);
    expect(suspended.json()).toMatchObject({ error: { code: 'TENANT_SUSPENDED' } });
    // Another tenant is untouched.
    expect((await send(h.url, h.host(acme), '/api/users/me', { headers: await bearer(acme) })).status).toBe(
      200,
    );

    await h.operator.patchTenantSpec(tenant, { suspended: false });
    await expect
      .poll(async () => (await send(h.url, h.host(tenant), '/api/users/me', { headers })).status, EVENTUALLY)
      .toBe(200);
  });
});

describe('plan rate limit', () => {
  test("over its plan's requests per minute a tenant gets 429 with Retry-After and RateLimit headers", async () => {
    const plan = uniqueName('tiny');
    cleanups.push(await createPlan(h.operator.admin, plan, 3));
    const tenant = await h.tenant({ plan }, 'tiny');
    const headers = await bearer(tenant);

    // h.tenant() made the first counted request (a 401 still counts: the limit is checked first).
    const second = await send(h.url, h.host(tenant), '/api/users/me', { headers });
    expect(second.status).toBe(200);
    expect(second.headers).toMatchObject({ 'ratelimit-limit': '3', 'ratelimit-remaining': '1' });
    expect(Number(second.headers['ratelimit-reset'])).toBeGreaterThan(0);
    expect((await send(h.url, h.host(tenant), '/api/users/me', { headers })).status).toBe(200);

    const limited = await send(h.url, h.host(tenant), '/api/users/me', { headers });
    expect(limited.status).toBe(429);
    expect(limited.json()).toMatchObject({
      error: { code: 'TOO_MANY_REQUESTS', message: expect.stringContaining('3 requests per minute') },
    });
    expect(limited.headers).toMatchObject({ 'ratelimit-limit': '3', 'ratelimit-remaining': '0' });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);

    // The limit is the tenant's: others on other plans are served.
    const other = await send(h.url, h.host(globex), '/api/users/me', { headers: await bearer(globex) });
    expect(other.status).toBe(200);
    expect(other.headers['ratelimit-limit']).toBe('1000');
  });

  test("an anonymous flood uses up neither the signed-in users' budget nor, from one client, the anonymous one", async () => {
    const plan = uniqueName('anon');
    cleanups.push(
      await createPlan(h.operator.admin, plan, 3, {
        anonymousRequestsPerMinute: 10,
        perClientRequestsPerMinute: 2,
      }),
    );
    const tenant = await h.tenant({ plan }, 'anon');
    const signin = () =>
      send(h.url, h.host(tenant), '/api/auth/signin', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
    expect((await signin()).status).toBe(200);
    const second = await signin();
    expect(second.status).toBe(200);
    expect(second.headers).toMatchObject({ 'ratelimit-limit': '2', 'ratelimit-remaining': '0' });
    const refused = await signin();
    expect(refused.status).toBe(429);
    expect(refused.json()).toMatchObject({
      error: { code: 'TOO_MANY_REQUESTS', message: expect.stringContaining('from one client') },
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // The signed-in users' budget (3, one used by h.tenant()'s probe) is untouched by the flood.
    const user = await bearer(tenant);
    expect((await send(h.url, h.host(tenant), '/api/users/me', { headers: user })).status).toBe(200);
  });

  test("the tenant's anonymous budget is apart from its signed-in one, and one user gets a share of it", async () => {
    const plan = uniqueName('share');
    cleanups.push(
      await createPlan(h.operator.admin, plan, 20, {
        anonymousRequestsPerMinute: 2,
        perClientRequestsPerMinute: 10,
        perUserRequestsPerMinute: 2,
      }),
    );
    const tenant = await h.tenant({ plan }, 'share');
    const signin = () =>
      send(h.url, h.host(tenant), '/api/auth/signin', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
    expect((await signin()).status).toBe(200);
    expect((await signin()).status).toBe(200);
    const anonymousFull = await signin();
    expect(anonymousFull.status).toBe(429);
    expect(anonymousFull.json()).toMatchObject({
      error: { message: expect.stringContaining('2 requests per minute to routes without a token') },
    });

    const ann = await bearer(tenant);
    const me = (headers: Record<string, string>) => send(h.url, h.host(tenant), '/api/users/me', { headers });
    expect((await me(ann)).status).toBe(200);
    expect((await me(ann)).status).toBe(200);
    const annLimited = await me(ann);
    expect(annLimited.status).toBe(429);
    expect(annLimited.json()).toMatchObject({ error: { message: expect.stringContaining('per user') } });
    // Another user of the same tenant is served: the limit was Ann's share, not the tenant's budget.
    expect((await me(await bearer(tenant))).status).toBe(200);
  });
});
