import { randomBytes } from 'node:crypto';
import { get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { startTelemetry, type Telemetry } from './start-telemetry.ts';
import { activeTraceId } from './trace-headers.ts';
import { tracing } from './tracing-plugin.ts';

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
const apps: FastifyInstance[] = [];

function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** Holds GET /api/slow until opened, so a test can abandon the request meanwhile. */
let slowGate = gate();
/** Request id to the span id a preHandler hook saw active. */
const hookSpans = new Map<string, string | undefined>();

beforeAll(() => {
  telemetry = startTelemetry({
    serviceName: 'tracing-test',
    spanProcessor: new SimpleSpanProcessor({ exporter }),
  });
});

afterAll(() => telemetry.shutdown());

afterEach(async () => {
  slowGate.open();
  slowGate = gate();
  await Promise.all(apps.splice(0).map((app) => app.close()));
  hookSpans.clear();
  exporter.reset();
});

/** What a handler saw of the active context, after an await. */
interface Seen {
  requestId: string;
  spanId: string | undefined;
  traceId: string | undefined;
  /** The span active in a preHandler hook of a plugin registered after tracing. */
  hookSpanId: string | undefined;
}

async function buildApp(): Promise<FastifyInstance> {
  const app = Fastify();
  apps.push(app);
  await app.register(tracing);
  await app.register(async (routes) => {
    routes.addHook('preHandler', async (request) => {
      hookSpans.set(request.id, trace.getActiveSpan()?.spanContext().spanId);
    });
    const seen = async (request: { id: string }): Promise<Seen> => {
      await sleep(5);
      return {
        requestId: request.id,
        spanId: trace.getActiveSpan()?.spanContext().spanId,
        traceId: activeTraceId(),
        hookSpanId: hookSpans.get(request.id),
      };
    };
    routes.get('/api/things/:id', async (request) => seen(request));
    routes.post('/api/things', async (request) => seen(request));
    routes.get('/api/slow', async () => {
      await slowGate.opened;
      return { done: true };
    });
    routes.get('/api/broken', async () => {
      await sleep(1);
      throw new Error('the database is gone');
    });
  });
  await app.ready();
  return app;
}

/** The spans ended so far; onResponse runs once the response is sent, so the test waits for it. */
async function finishedSpans(count: number): Promise<ReadableSpan[]> {
  await expect.poll(() => exporter.getFinishedSpans().length).toBe(count);
  return exporter.getFinishedSpans();
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

test('continues the incoming trace with a server span named by route pattern, active in the handler', async () => {
  const app = await buildApp();
  const traceId = hex(16);
  const parentSpanId = hex(8);

  const response = await app.inject({
    method: 'GET',
    url: '/api/things/42?verbose=1',
    headers: { traceparent: `00-${traceId}-${parentSpanId}-01` },
  });

  expect(response.statusCode).toBe(200);
  const [span] = await finishedSpans(1);
  expect(span?.name).toBe('GET /api/things/:id');
  expect(span?.kind).toBe(SpanKind.SERVER);
  expect(span?.spanContext().traceId).toBe(traceId);
  expect(span?.parentSpanContext?.spanId).toBe(parentSpanId);
  expect(span?.parentSpanContext?.isRemote).toBe(true);
  const seen = response.json<Seen>();
  expect(span?.attributes).toEqual({
    'http.request.method': 'GET',
    'url.path': '/api/things/42',
    'http.route': '/api/things/:id',
    'http.response.status_code': 200,
    'tenantry.request_id': seen.requestId,
  });
  expect(span?.status.code).toBe(SpanStatusCode.UNSET);
  // After an await in the handler, and in a later plugin's hook, the server span is the active one.
  expect(seen).toMatchObject({ spanId: span?.spanContext().spanId, traceId, hookSpanId: seen.spanId });
});

test('without an incoming traceparent, each request starts a trace of its own', async () => {
  const app = await buildApp();
  const first = (await app.inject({ method: 'GET', url: '/api/things/1' })).json<Seen>();
  const second = (await app.inject({ method: 'GET', url: '/api/things/2' })).json<Seen>();

  const spans = await finishedSpans(2);
  expect(spans.map((span) => span.parentSpanContext)).toEqual([undefined, undefined]);
  expect(spans.map((span) => span.spanContext().traceId)).toEqual([first.traceId, second.traceId]);
  expect(first.traceId).not.toBe(second.traceId);
});

test('the span stays active across the body of a real HTTP request', async () => {
  const app = await buildApp();
  const address = await app.listen({ port: 0, host: '127.0.0.1' });

  const response = await fetch(`${address}/api/things`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'x'.repeat(256 * 1024) }),
  });

  expect(response.status).toBe(200);
  const seen = (await response.json()) as Seen;
  const [span] = await finishedSpans(1);
  expect(span?.name).toBe('POST /api/things');
  expect(seen).toMatchObject({ spanId: span?.spanContext().spanId, hookSpanId: span?.spanContext().spanId });
});

test('a 500 makes the span an error and records the exception', async () => {
  const app = await buildApp();

  const response = await app.inject({ method: 'GET', url: '/api/broken' });

  expect(response.statusCode).toBe(500);
  const [span] = await finishedSpans(1);
  expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'the database is gone' });
  expect(span?.attributes).toMatchObject({ 'http.response.status_code': 500, 'error.type': '500' });
  expect(span?.events.map((event) => [event.name, event.attributes?.['exception.message']])).toEqual([
    ['exception', 'the database is gone'],
  ]);
});

test('a request no route matched is named by its method only and is not an error', async () => {
  const app = await buildApp();

  const response = await app.inject({ method: 'GET', url: '/wp-admin/setup.php' });

  expect(response.statusCode).toBe(404);
  const [span] = await finishedSpans(1);
  expect(span?.name).toBe('GET');
  expect(span?.attributes['http.route']).toBeUndefined();
  expect(span?.attributes['http.response.status_code']).toBe(404);
  expect(span?.status.code).toBe(SpanStatusCode.UNSET);
});

test('a request the client abandons ends its span as an error, once', async () => {
  const app = await buildApp();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;

  const request = get({ host: '127.0.0.1', port, path: '/api/slow' });
  request.on('error', () => {}); // the socket hang-up of destroying it
  await expect.poll(() => hookSpans.size).toBe(1);
  request.destroy();

  const [span] = await finishedSpans(1);
  expect(span?.name).toBe('GET /api/slow');
  expect(span?.status).toEqual({
    code: SpanStatusCode.ERROR,
    message: 'the client closed the connection first',
  });
  // The handler finishing afterwards does not end the span a second time.
  slowGate.open();
  await sleep(50);
  expect(exporter.getFinishedSpans()).toHaveLength(1);
});
