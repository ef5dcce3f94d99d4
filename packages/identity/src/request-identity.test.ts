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
