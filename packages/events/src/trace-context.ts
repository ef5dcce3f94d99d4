import { type Context, context, propagation, ROOT_CONTEXT, type TextMapGetter } from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';

/**
 * W3C trace context (`traceparent`, `tracestate`) across the outbox and Kafka, through whatever
 * propagator the program registered (@tenantry/telemetry); without one, nothing is written or read.
 *
 * The context is captured when the event is appended, inside the request that caused it, and stored
 * with the row: by the time the relay publishes, that request's context is gone, so injecting there
 * would attach the event to the relay's own (empty) trace.
 */
export function captureTraceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

const kafkaHeaders: TextMapGetter<IHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (value === undefined) return undefined;
    return Array.isArray(value) ? value.map((v) => v.toString()) : value.toString();
  },
};

/** The trace context a consumed message carries, to run its handler in. */
export function contextFromHeaders(headers: IHeaders | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, headers ?? {}, kafkaHeaders);
}
