import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import Fastify from 'fastify';
import { expect, onTestFinished, test } from 'vitest';
import { startTelemetry } from './start-telemetry.ts';
import { activeTraceId, injectTraceHeaders } from './trace-headers.ts';
import { tracing } from './tracing-plugin.ts';

function inMemory() {
  const exporter = new InMemorySpanExporter();
  return { exporter, spanProcessor: new SimpleSpanProcessor({ exporter }) };
}

function spanNames(exporter: InMemorySpanExporter): string[] {
  return exporter.getFinishedSpans().map((span) => span.name);
}

test('a second start replaces the first; only the current one unregisters on shutdown', async () => {
  const first = inMemory();
  const second = inMemory();
  const a = startTelemetry({ serviceName: 'first', spanProcessor: first.spanProcessor });
  const b = startTelemetry({ serviceName: 'second', spanProcessor: second.spanProcessor });
  onTestFinished(() => b.shutdown());

  trace.getTracer('test').startSpan('after the second start').end();
  expect(spanNames(first.exporter)).toEqual([]);
  expect(spanNames(second.exporter)).toEqual(['after the second start']);

  await a.shutdown();
  trace.getTracer('test').startSpan('after the first shut down').end();
  expect(spanNames(second.exporter)).toEqual(['after the second start', 'after the first shut down']);

  const stopping = b.shutdown();
  expect(b.shutdown()).toBe(stopping);
  await stopping;
  const span = trace.getTracer('test').startSpan('after both shut down');
  expect(span.isRecording()).toBe(false);
  span.end();
});

test('without telemetry, tracing and the helpers are no-ops', async () => {
  await startTelemetry({ serviceName: 'stopped', ...inMemory() }).shutdown();
  const app = Fastify();
  onTestFinished(() => app.close());
  await app.register(tracing);
  app.get('/api/x', async () => ({
    traceId: activeTraceId() ?? null,
    headers: injectTraceHeaders({ host: 'users:3005' }),
  }));

  const response = await app.inject({
    method: 'GET',
    url: '/api/x',
    headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  });

  expect(response.statusCode).toBe(200);
  expect(response.json()).toEqual({ traceId: null, headers: { host: 'users:3005' } });
});

test('exports batched spans to <otlpEndpoint>/v1/traces, flushed by shutdown', async () => {
  const received: { url: string | undefined; contentType: string | undefined; body: string }[] = [];
  const collector = createServer(async (request: IncomingMessage, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    received.push({ url: request.url, contentType: request.headers['content-type'], body });
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => collector.close(() => resolve())));
  const { port } = collector.address() as AddressInfo;

  const telemetry = startTelemetry({
    serviceName: 'users',
    serviceVersion: '1.2.3',
    otlpEndpoint: `http://127.0.0.1:${port}/`,
  });
  trace.getTracer('test').startSpan('GET /api/users/me').end();
  // Batched: nothing is sent before the scheduled delay (5 s) or a flush.
  expect(received).toEqual([]);
  await telemetry.shutdown();

  expect(received).toHaveLength(1);
  expect(received[0]).toMatchObject({ url: '/v1/traces', contentType: 'application/json' });
  const body = received[0]?.body ?? '';
  expect(body).toContain('"GET /api/users/me"');
  expect(body).toContain('{"key":"service.name","value":{"stringValue":"users"}}');
  expect(body).toContain('{"key":"service.version","value":{"stringValue":"1.2.3"}}');
});

test('rejects options it cannot use, naming them', () => {
  expect(() => startTelemetry({ serviceName: '' })).toThrow('startTelemetry: serviceName must not be empty');
  expect(() => startTelemetry({ serviceName: 'users', otlpEndpoint: 'otel-collector:4318' })).toThrow(
    'startTelemetry: otlpEndpoint must be an http(s) URL such as "http://otel-collector:4318", got "otel-collector:4318"',
  );
});

test('without an exporter nothing is recorded, yet the caller’s trace context passes through', async () => {
  const telemetry = startTelemetry({ serviceName: 'pass-through' });
  onTestFinished(() => telemetry.shutdown());
  const app = Fastify();
  await app.register(tracing);
  app.get('/hop', async () => {
    const headers: Record<string, string> = {};
    injectTraceHeaders(headers);
    return { recording: trace.getActiveSpan()?.isRecording() ?? false, traceparent: headers.traceparent };
  });
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const response = await app.inject({
    method: 'GET',
    url: '/hop',
    headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
  });
  await app.close();
  expect(response.json()).toEqual({ recording: false, traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
});
