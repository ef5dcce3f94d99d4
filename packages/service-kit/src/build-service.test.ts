import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { createLogger } from '@tenantry/logger';
import { afterEach, describe, expect, test } from 'vitest';
import { buildService, type ServiceInstance, type ServiceOptions } from './build-service.ts';
import { errorResponses } from './error-body.ts';
import { httpErrors } from './http-errors.ts';

const INTERNAL_DETAIL = 'password authentication failed for user "tenant_acme" at 10.0.0.5:5432';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/api/users/signup',
    {
      schema: {
        body: Type.Object({ email: Type.String({ format: 'email' }), name: Type.String({ minLength: 1 }) }),
        response: { 201: Type.Object({ id: Type.String() }), ...errorResponses(400, 409) },
      },
    },
    async (request, reply) => {
      if (request.body.email === 'taken@acme.test') throw httpErrors.conflict('email already registered');
      if (request.body.name === 'admin') throw httpErrors.badRequest('name is reserved', '/body/name');
      return reply.code(201).send({ id: 'u1' });
    },
  );
  app.get(
    '/api/users/:id',
    { schema: { params: Type.Object({ id: Type.String({ pattern: '^u[0-9]+$' }) }) } },
    async (request) => {
      throw httpErrors.notFound(`user ${request.params.id} not found`);
    },
  );
  app.get('/api/boom', async () => {
    throw new Error(INTERNAL_DETAIL);
  });
  app.get('/api/limited', async () => {
    throw httpErrors.tooManyRequests(29.2);
  });
  app.post('/api/upload', async () => ({ ok: true }));
  // What a query wrapper (drizzle's DrizzleQueryError) around a data-layer error looks like.
  app.get('/api/wrapped/:kind', async (request) => {
    const { kind } = request.params as { kind: string };
    const cause =
      kind === 'down'
        ? Object.assign(new Error('while connecting to the database of tenant acme: ECONNREFUSED'), {
            statusCode: 503,
            code: 'TENANT_DATABASE_UNAVAILABLE',
          })
        : kind === 'gone'
          ? Object.assign(new Error('no such tenant "acme"'), { statusCode: 404, code: 'TENANT_NOT_FOUND' })
          : new Error(INTERNAL_DETAIL);
    throw Object.assign(new Error(`Failed query: select ... params: ann@acme.test`, { cause }), {
      name: 'DrizzleQueryError',
    });
  });
};

const apps: ServiceInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** A real service with the sample routes; its log lines are kept, parsed. */
async function build(overrides: Partial<ServiceOptions> = {}) {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: 'users',
    level: 'debug',
    destination: { write: (line: string) => logs.push(JSON.parse(line)) },
  });
  const app = await buildService({
    name: 'users',
    config: { corsOrigins: ['https://app.acme.test'] },
    routes,
    logger,
    ...overrides,
  });
  apps.push(app);
  return { app, logs };
}

describe('error body', () => {
  test('a validation error names the missing field', async () => {
    const { app } = await build();
    const response = await app.inject({ method: 'POST', url: '/api/users/signup', payload: { name: 'Ann' } });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: {
        code: 'VALIDATION_FAILED',
        message: '/body/email is required',
        field: '/body/email',
        requestId: response.headers['x-request-id'],
      },
    });
  });

  test('a validation error names the invalid field and what is wrong with it', async () => {
    const { app } = await build();
    const response = await app.inject({
      method: 'POST',
      url: '/api/users/signup',
      payload: { email: 'not-an-email', name: 'Ann' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      field: '/body/email',
      message: '/body/email must match format "email"',
    });
  });

  test('a params validation error points into params', async () => {
    const { app } = await build();
    const response = await app.inject({ method: 'GET', url: '/api/users/bob' });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'VALIDATION_FAILED', field: '/params/id' });
  });

  test('a malformed JSON body is a 400 with the standard body', async () => {
    const { app } = await build();
    const response = await app.inject({
      method: 'POST',
      url: '/api/users/signup',
      headers: { 'content-type': 'application/json' },
      payload: '{"email":',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('BAD_REQUEST');
  });

  test('errors thrown from the helper set are rendered with their status, code and field', async () => {
    const { app } = await build();
    const conflict = await app.inject({
      method: 'POST',
      url: '/api/users/signup',
      payload: { email: 'taken@acme.test', name: 'Ann' },
    });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error).toMatchObject({ code: 'CONFLICT', message: 'email already registered' });

    const badRequest = await app.inject({
      method: 'POST',
      url: '/api/users/signup',
      payload: { email: 'ann@acme.test', name: 'admin' },
    });
    expect(badRequest.statusCode).toBe(400);
    expect(badRequest.json().error).toMatchObject({
      code: 'BAD_REQUEST',
      message: 'name is reserved',
      field: '/body/name',
    });

    const notFound = await app.inject({ method: 'GET', url: '/api/users/u9' });
    expect(notFound.statusCode).toBe(404);
    expect(notFound.json().error).toMatchObject({ code: 'NOT_FOUND', message: 'user u9 not found' });
    expect(notFound.json().error).not.toHaveProperty('field');

    const limited = await app.inject({ method: 'GET', url: '/api/limited' });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('30');
    expect(limited.json().error.code).toBe('TOO_MANY_REQUESTS');
  });

  test('an unknown route gets a 404 with the same body', async () => {
    const { app } = await build();
    const response = await app.inject({ method: 'GET', url: '/api/nothing/here?x=1' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      error: {
        code: 'NOT_FOUND',
        message: 'no route for GET /api/nothing/here',
        requestId: response.headers['x-request-id'],
      },
    });
  });

  test('an internal error is a 500 that reveals nothing, logged once in full with the request id', async () => {
    const { app, logs } = await build();
    const response = await app.inject({
      method: 'GET',
      url: '/api/boom',
      headers: { 'x-request-id': 'req-500' },
    });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({
      error: { code: 'INTERNAL', message: 'internal error', requestId: 'req-500' },
    });
    expect(response.body).not.toContain('tenant_acme');

    const errorLines = logs.filter((line) => JSON.stringify(line).includes('tenant_acme'));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatchObject({
      level: 50,
      service: 'users',
      requestId: 'req-500',
      err: { message: INTERNAL_DETAIL },
    });
    expect(JSON.stringify(errorLines[0])).toContain('"stack"');
  });

  test('a wrapper is answered as the data-layer error it wraps, and its parameters reach no log', async () => {
    const { app, logs } = await build();
    const down = await app.inject({ method: 'GET', url: '/api/wrapped/down' });
    expect(down.statusCode).toBe(503);
    expect(down.json().error.code).toBe('TENANT_DATABASE_UNAVAILABLE');
    expect(down.headers['retry-after']).toBe('5');
    const gone = await app.inject({ method: 'GET', url: '/api/wrapped/gone' });
    expect(gone.statusCode).toBe(404);
    expect(gone.json().error).toMatchObject({ code: 'TENANT_NOT_FOUND', message: 'no such tenant "acme"' });
    expect(JSON.stringify(logs)).not.toContain('ann@acme.test');
    // A cause that says nothing of its own leaves the wrapper a plain internal error, logged as its
    // cause: the query's parameters never reach the log.
    const other = await app.inject({ method: 'GET', url: '/api/wrapped/other' });
    expect(other.statusCode).toBe(500);
    expect(other.json().error.code).toBe('INTERNAL');
    expect(JSON.stringify(logs)).toContain('password authentication failed');
    expect(JSON.stringify(logs)).not.toContain('ann@acme.test');
  });

  test('a body over 10 MB is refused with 413 and the standard body', async () => {
    const { app } = await build();
    const payload = JSON.stringify({ data: 'x'.repeat(11 * 1024 * 1024) });
    const response = await app.inject({
      method: 'POST',
      url: '/api/upload',
      headers: { 'content-type': 'application/json' },
      payload,
    });
    expect(response.statusCode).toBe(413);
    expect(response.json().error).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      requestId: response.headers['x-request-id'],
    });

    const small = await app.inject({
      method: 'POST',
      url: '/api/upload',
      payload: { data: 'x'.repeat(1024) },
    });
    expect(small.statusCode).toBe(200);
  });
});

describe('request id', () => {
  test('a valid x-request-id is kept, echoed and on the log lines', async () => {
    const { app, logs } = await build();
    const response = await app.inject({
      method: 'GET',
      url: '/api/users/u1',
      headers: { 'x-request-id': 'gw-7f3a.1' },
    });
    expect(response.headers['x-request-id']).toBe('gw-7f3a.1');
    expect(response.json().error.requestId).toBe('gw-7f3a.1');
    expect(logs.some((line) => line.requestId === 'gw-7f3a.1')).toBe(true);
  });

  test('a missing or invalid x-request-id is replaced by a generated one', async () => {
    const { app } = await build();
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const missing = await app.inject({ method: 'GET', url: '/health' });
    expect(missing.headers['x-request-id']).toMatch(uuid);
    for (const invalid of ['has spaces\tand tabs', 'x'.repeat(129), '']) {
      const response = await app.inject({
        method: 'GET',
        url: '/health',
        headers: { 'x-request-id': invalid },
      });
      expect(response.headers['x-request-id']).toMatch(uuid);
    }
    const again = await app.inject({ method: 'GET', url: '/health' });
    expect(again.headers['x-request-id']).not.toBe(missing.headers['x-request-id']);
  });
});

describe('health', () => {
  test('liveness answers 200 while a dependency is down; readiness 503', async () => {
    const { app } = await build({
      dependencies: {
        kafka: async () => {
          throw new Error('broker down');
        },
      },
    });
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(503);
    const live = await app.inject({ method: 'GET', url: '/livez' });
    expect([live.statusCode, live.json()]).toEqual([200, { status: 'alive', service: 'users' }]);
  });

  test('reports healthy with every dependency up', async () => {
    const { app } = await build({ dependencies: { postgres: async () => {}, kafka: async () => {} } });
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      status: 'healthy',
      service: 'users',
      checks: { postgres: 'up', kafka: 'up' },
    });
  });

  test('flips to 503 while a dependency fails, and back, logging the failure but not returning it', async () => {
    let postgresUp = true;
    const { app, logs } = await build({
      dependencies: {
        postgres: async () => {
          if (!postgresUp) throw new Error('ECONNREFUSED 127.0.0.1:5432');
        },
      },
    });
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);

    postgresUp = false;
    const down = await app.inject({ method: 'GET', url: '/health' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toEqual({ status: 'unhealthy', service: 'users', checks: { postgres: 'down' } });
    expect(down.body).not.toContain('ECONNREFUSED');
    expect(logs.find((line) => line.dependency === 'postgres')).toMatchObject({
      level: 40,
      err: { message: 'ECONNREFUSED 127.0.0.1:5432' },
    });

    postgresUp = true;
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  test('a check that hangs counts as down after the timeout', async () => {
    const { app } = await build({
      healthCheckTimeoutMs: 50,
      dependencies: { kafka: () => new Promise<void>(() => {}), postgres: async () => {} },
    });
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(503);
    expect(response.json().checks).toEqual({ kafka: 'down', postgres: 'up' });
  });
});

describe('skeleton', () => {
  test('serves an OpenAPI document built from the route schemas', async () => {
    const { app } = await build();
    const response = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toBe('3.1.0');
    expect(document.info).toEqual({ title: 'users', version: '0.1.0' });
    const signup = document.paths['/api/users/signup'].post;
    expect(signup.requestBody.content['application/json'].schema.required).toEqual(['email', 'name']);
    expect(Object.keys(signup.responses)).toEqual(['201', '400', '409']);
    expect(document.paths['/api/users/{id}'].get.parameters[0]).toMatchObject({ in: 'path', name: 'id' });
    expect(document.paths['/health']).toBeDefined();
    expect(document.paths['/metrics']).toBeUndefined();
    expect(document.paths['/openapi.json']).toBeUndefined();
  });

  test('serves metrics labelled by route pattern', async () => {
    const { app } = await build();
    await app.inject({ method: 'GET', url: '/api/users/u1' });
    await app.inject({ method: 'GET', url: '/api/users/u2' });
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain(
      'http_requests_total{method="GET",route="/api/users/:id",status_code="404"} 2',
    );
    expect(response.body).toContain('# TYPE db_query_duration_seconds histogram');
    expect(response.body).toContain('# TYPE http_active_connections gauge');
  });

  test('sends security headers and allows only the configured CORS origins', async () => {
    const { app } = await build();
    const allowed = await app.inject({
      method: 'GET',
      url: '/health',
      headers: { origin: 'https://app.acme.test' },
    });
    expect(allowed.headers['x-content-type-options']).toBe('nosniff');
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.acme.test');

    const other = await app.inject({
      method: 'GET',
      url: '/health',
      headers: { origin: 'https://evil.test' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  test("helmet's default security headers are on answers and on errors alike", async () => {
    const { app } = await build();
    for (const url of ['/health', '/api/boom', '/no-such-route']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.headers['content-security-policy'], url).toContain("default-src 'self'");
      expect(response.headers['strict-transport-security'], url).toMatch(/^max-age=\d+/);
      expect(response.headers['x-frame-options'], url).toBe('SAMEORIGIN');
      expect(response.headers['x-content-type-options'], url).toBe('nosniff');
      expect(response.headers['x-powered-by'], url).toBeUndefined();
    }
  });

  test('rejects invalid options, naming the option', async () => {
    await expect(build({ name: 'Users Service' })).rejects.toThrow(
      'buildService: name must be a lowercase name such as "auth", got "Users Service"',
    );
    await expect(build({ config: { corsOrigins: ['https://ok.test', 'app.acme.test'] } })).rejects.toThrow(
      'buildService: config.corsOrigins[1] must be an origin such as "https://app.acme.test", got "app.acme.test"',
    );
    await expect(build({ healthCheckTimeoutMs: 0 })).rejects.toThrow(
      'buildService: healthCheckTimeoutMs must be a positive integer, got 0',
    );
  });
});
