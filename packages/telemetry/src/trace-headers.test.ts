import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTelemetry, type Telemetry } from './start-telemetry.ts';
import { activeTraceId, injectTraceHeaders } from './trace-headers.ts';

let telemetry: Telemetry;

beforeAll(() => {
  const spanProcessor = new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() });
  telemetry = startTelemetry({ serviceName: 'headers-test', spanProcessor });
});

afterAll(() => telemetry.shutdown());

test("writes the active span as the callee's parent, replacing a forwarded traceparent", async () => {
  await trace.getTracer('test').startActiveSpan('proxy', async (span) => {
    await Promise.resolve();
    const { traceId, spanId } = span.spanContext();
    const headers = {
      host: 'users:3005',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    };

    expect(injectTraceHeaders(headers)).toBe(headers);
    expect(headers).toEqual({ host: 'users:3005', traceparent: `00-${traceId}-${spanId}-01` });
    expect(activeTraceId()).toBe(traceId);
    span.end();
  });
});

test('writes baggage when the context carries some', () => {
  const baggage = propagation.createBaggage({ tenant: { value: 'acme' } });
  const headers = context.with(propagation.setBaggage(context.active(), baggage), () =>
    injectTraceHeaders({}),
  );
  expect(headers).toEqual({ baggage: 'tenant=acme' });
});

test('outside any span there is no trace id and no traceparent', () => {
  expect(activeTraceId()).toBeUndefined();
  expect(injectTraceHeaders({})).toEqual({});
});
