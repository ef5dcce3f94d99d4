import { context, isSpanContextValid, propagation, trace } from '@opentelemetry/api';

/** Outgoing HTTP headers as Node's http module and the gateway's proxy take them. */
export type OutgoingHeaders = Record<string, string | string[] | undefined>;

/**
 * Writes the active trace context into `headers` (`traceparent`, and `tracestate` and `baggage`
 * when there are any) and returns them, so the callee continues the caller's trace. It replaces a
 * `traceparent` already there: a proxy forwarding a client's headers sends its own span as the parent.
 * Without startTelemetry, or outside any span, nothing is written.
 */
export function injectTraceHeaders<Headers extends OutgoingHeaders>(headers: Headers): Headers {
  propagation.inject(context.active(), headers);
  return headers;
}

/** The trace id of the active span, for log lines; undefined outside any trace. */
export function activeTraceId(): string | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}
