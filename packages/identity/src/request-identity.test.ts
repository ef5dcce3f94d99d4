import { Writable } from 'node:stream';
import { createLogger } from '@tenantry/logger';
import { buildService } from '@tenantry/service-kit';
import { expect, test } from 'vitest';
import { requestIdentity } from './request-identity.ts';
import { TenantKeys } from './tenant-keys.ts';
import { operatorKey } from './test-support.ts';

test("once the tenant is resolved, the request's log lines carry it", async () => {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const identity = requestIdentity({ keys: TenantKeys.fromKeys({ acme: operatorKey() }) });
  const app = await buildService({
    name: 'probe',
    config: {},
    logger: createLogger({ service: 'probe', destination }),
    routes: async (routes) => {
      routes.get('/who', async (request) => {
        const tenant = identity.tenant(request);
        request.log.info('handled');
        return { tenant };
      });
    },
  });
  const response = await app.inject({ method: 'GET', url: '/who', headers: { 'x-tenantry-tenant': 'acme' } });
  expect(response.json()).toEqual({ tenant: 'acme' });
  const missing = await app.inject({ method: 'GET', url: '/who' });
  expect(missing.json().error).toMatchObject({
    code: 'TENANT_REQUIRED',
    field: '/headers/x-tenantry-tenant',
  });
  await app.close();
  const handled = lines.find((line) => line.msg === 'handled');
  expect(handled).toMatchObject({ tenant: 'acme', requestId: expect.any(String) });
  // The error handler logs through request.log too: the 400 above names no tenant, there was none.
  expect(lines.filter((line) => line.msg === 'the request names no tenant')).toHaveLength(1);
});

test("with a session check, an ended session's token is refused; a live answer is trusted for cacheMs", async () => {
  const keys = TenantKeys.fromKeys({ acme: operatorKey() });
  const ended = new Set<string>();
  const asked: string[] = [];
  const identity = requestIdentity({
    keys,
    sessions: {
      live: async (tenant, sid) => {
        asked.push(`${tenant}/${sid}`);
        return !ended.has(sid);
      },
      cacheMs: 60_000,
    },
  });
  const app = await buildService({
    name: 'probe',
    config: {},
    logger: createLogger({ service: 'probe', level: 'silent' }),
    routes: async (routes) => {
      routes.get('/who', async (request) => ({ sub: (await identity.caller(request)).sub }));
    },
  });
  const claims = (sid: string) => ({
    sub: '00000000-0000-4000-8000-000000000001',
    tenant: 'acme',
    role: 'member' as const,
    email: 'a@acme.test',
    emailVerified: true,
    sid,
  });
  const live = '00000000-0000-4000-8000-00000000000a';
  const gone = '00000000-0000-4000-8000-00000000000b';
  const call = async (sid: string) =>
    app.inject({
      method: 'GET',
      url: '/who',
      headers: { 'x-tenantry-tenant': 'acme', authorization: `Bearer ${await keys.sign(claims(sid))}` },
    });
  expect((await call(live)).statusCode).toBe(200);
  ended.add(gone);
  const refused = await call(gone);
  expect(refused.statusCode).toBe(401);
  expect(refused.json().error).toMatchObject({ code: 'SESSION_REVOKED', field: '/headers/authorization' });
  // Within cacheMs the live answer is reused (the price of not asking on every request)...
  ended.add(live);
  expect((await call(live)).statusCode).toBe(200);
  // ...and an ended session stays ended without asking again.
  expect((await call(gone)).statusCode).toBe(401);
  expect(asked).toEqual([`acme/${live}`, `acme/${gone}`]);
  await app.close();
});
