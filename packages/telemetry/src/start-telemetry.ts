import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

export interface TelemetryOptions {
  /** The service's name in the platform (`auth`, `gateway`): `service.name` of every span. */
  serviceName: string;
  serviceVersion?: string;
  /**
   * Base URL of an OTLP/HTTP receiver (`http://otel-collector:4318`); spans go to `<it>/v1/traces`,
   * as for OTEL_EXPORTER_OTLP_ENDPOINT. Without it nothing is exported, but trace context is still
   * propagated, so a service without a collector does not break the traces passing through it.
   */
  otlpEndpoint?: string;
  /** An additional processor (tests pass a SimpleSpanProcessor over an InMemorySpanExporter). */
  spanProcessor?: SpanProcessor;
}

export interface Telemetry {
  /**
   * Exports what is still buffered and stops the provider. If this is still the registered
   * telemetry, the global API goes back to its no-op state first. Later calls return the first
   * call's promise.
   */
  shutdown(): Promise<void>;
}

/** The registration currently installed in the global API, if this module installed it. */
let registered: object | undefined;

/**
 * Registers OpenTelemetry in the global API: an AsyncLocalStorage context manager (the active span
 * follows async/await), the W3C trace-context and baggage propagators, and a tracer provider that
 * batches spans to OTLP/HTTP when `otlpEndpoint` is set. Call it first in a program, before building
 * the app. It never reads the environment: the program's config module maps
 * OTEL_EXPORTER_OTLP_ENDPOINT onto `otlpEndpoint`.
 *
 * Started again in the same process (tests), it replaces the previous registration: spans started
 * afterwards go to the new provider only. The previous Telemetry's shutdown() still flushes its own
 * provider, but leaves the globals of the newer one in place.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  validate(options);
  const spanProcessors: SpanProcessor[] = [];
  if (options.spanProcessor) spanProcessors.push(options.spanProcessor);
  if (options.otlpEndpoint !== undefined) {
    const exporter = new OTLPTraceExporter({ url: tracesUrl(options.otlpEndpoint) });
    spanProcessors.push(new BatchSpanProcessor({ exporter }));
  }
  const resource = defaultResource().merge(
    resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      ...(options.serviceVersion === undefined ? {} : { [ATTR_SERVICE_VERSION]: options.serviceVersion }),
    }),
  );
  const provider = new TracerProvider({ resource, spanProcessors });

  // The API keeps the first registration and refuses (with a diag message only) any later one;
  // replacing is what a second start in one process means, so the previous one is removed first.
  unregisterGlobals();
  const installed = [
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()),
    propagation.setGlobalPropagator(
      new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
    ),
    // Without anywhere to send spans, recording them is pure cost (a few percent of the gateway's CPU
    // per request). The no-op tracer still carries the caller's trace context through: its spans
    // take the incoming span context, so traceparent passes on to services and Kafka unchanged.
    spanProcessors.length > 0 ? trace.setGlobalTracerProvider(provider) : true,
  ];
  if (installed.includes(false)) {
    unregisterGlobals();
    throw new Error(
      'startTelemetry: the OpenTelemetry API refused the registration (another, incompatible @opentelemetry/api in the process?)',
    );
  }
  const registration = {};
  registered = registration;

  let stopped: Promise<void> | undefined;
  return {
    shutdown() {
      stopped ??= (async () => {
        if (registered === registration) {
          unregisterGlobals();
          registered = undefined;
        }
        await provider.shutdown();
      })();
      return stopped;
    },
  };
}

function unregisterGlobals(): void {
  trace.disable();
  propagation.disable();
  context.disable();
}

function validate(options: TelemetryOptions): void {
  if (typeof options.serviceName !== 'string' || options.serviceName === '') {
    throw new TypeError('startTelemetry: serviceName must not be empty');
  }
  const endpoint = options.otlpEndpoint;
  if (endpoint !== undefined && !(URL.canParse(endpoint) && /^https?:$/.test(new URL(endpoint).protocol))) {
    throw new TypeError(
      `startTelemetry: otlpEndpoint must be an http(s) URL such as "http://otel-collector:4318", got "${endpoint}"`,
    );
  }
}

/** The OTLP/HTTP traces URL under a base endpoint, as the OTLP exporter spec derives it. */
function tracesUrl(endpoint: string): string {
  return new URL('v1/traces', endpoint.endsWith('/') ? endpoint : `${endpoint}/`).toString();
}
