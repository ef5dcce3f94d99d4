import { connect } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, expect, test } from 'vitest';
import { metricsPlugin, UNMATCHED_ROUTE } from './metrics-plugin.ts';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function buildApp(): Promise<FastifyInstance> {
  const app = Fastify();
  apps.push(app);
  await app.register(metricsPlugin);
  app.get('/api/x/:id', async (request) => ({ id: (request.params as { id: string }).id }));
  app.post('/api/x', async (_request, reply) => reply.code(201).send({ created: true }));
  await app.ready();
  return app;
}

async function scrape(app: FastifyInstance): Promise<string> {
  const response = await app.inject({ method: 'GET', url: '/metrics' });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.body;
}

test('counts requests by route pattern, not raw URL, so every id shares one series', async () => {
  const app = await buildApp();
  await app.inject({ method: 'GET', url: '/api/x/1' });
  await app.inject({ method: 'GET', url: '/api/x/2?verbose=1' });
  await app.inject({ method: 'POST', url: '/api/x', payload: {} });
  const body = await scrape(app);
  expect(body).toContain('http_requests_total{method="GET",route="/api/x/:id",status_code="200"} 2');
  expect(body).toContain('http_requests_total{method="POST",route="/api/x",status_code="201"} 1');
  expect(body).toContain(
    'http_request_duration_seconds_count{method="GET",route="/api/x/:id",status_code="200"} 2',
  );
  expect(body).not.toContain('/api/x/1');
});

test('labels requests no route matched as unmatched', async () => {
  const app = await buildApp();
  await app.inject({ method: 'GET', url: '/wp-admin/setup.php' });
  await app.inject({ method: 'GET', url: '/.env' });
  const body = await scrape(app);
  expect(body).toContain(`http_requests_total{method="GET",route="${UNMATCHED_ROUTE}",status_code="404"} 2`);
  expect(body).not.toContain('wp-admin');
});

test('serves the database histogram and the default process metrics', async () => {
  const app = await buildApp();
  const stop = app.metrics.dbQueryDuration.startTimer({ operation: 'select' });
  stop();
  const body = await scrape(app);
  expect(body).toContain('db_query_duration_seconds_count{operation="select"} 1');
  expect(body).toContain('# TYPE process_cpu_user_seconds_total counter');
  expect(body).toContain('# TYPE nodejs_heap_size_total_bytes gauge');
});

test('each app has its own registry, so two apps in one process do not collide', async () => {
  const first = await buildApp();
  const second = await buildApp();
  await first.inject({ method: 'GET', url: '/api/x/1' });
  expect(await scrape(first)).toContain('route="/api/x/:id"');
  expect(await scrape(second)).not.toContain('route="/api/x/:id"');
});

test('tracks open client connections', async () => {
  const app = await buildApp();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  const gauge = async () => (await app.metrics.activeConnections.get()).values[0]?.value;

  const socket = connect(address.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  await expect.poll(gauge).toBe(1);
  socket.destroy();
  await expect.poll(gauge).toBe(0);
});

test('rejects a path that is not absolute, naming the option', async () => {
  const app = Fastify();
  apps.push(app);
  await expect(app.register(metricsPlugin, { path: 'metrics' })).rejects.toThrow(
    'metrics plugin: path must start with "/", got "metrics"',
  );
});
