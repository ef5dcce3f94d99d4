import {
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/** The instrumentation scope of the spans this package starts. */
export const TRACER_NAME = '@tenantry/telemetry';

/** The request id (the `x-request-id` the service answers with), to go from a log line to its trace. */
export const ATTR_REQUEST_ID = 'tenantry.request_id';

/** The server span of a request in flight, and the last error a hook or handler threw in it. */
interface RequestTrace {
  span: Span;
  error?: Error;
}

/**
 * A WeakMap rather than a request decoration: nothing outside this plugin needs the span (handlers
 * use `trace.getActiveSpan()`), and a request that never reaches onResponse leaves nothing behind.
 */
const requestTraces = new WeakMap<FastifyRequest, RequestTrace>();

function endSpan(request: FastifyRequest, end: (traced: RequestTrace) => void): void {
  const traced = requestTraces.get(request);
  if (!traced) return;
  requestTraces.delete(request);
  end(traced);
  traced.span.end();
}

const tracingImpl: FastifyPluginAsync = async (app) => {
  // Callback style on purpose: `done` runs the rest of the lifecycle (later hooks, body parsing, the
  // handler), so calling it inside context.with makes the server span the active one for all of it,
  // and AsyncLocalStorage carries it across every await from there. An async hook could not do this:
  // its returned promise ends the context before the next hook runs.
  app.addHook('onRequest', (request, _reply, done) => {
    // From the root, never from whatever context the connection happened to be accepted in.
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const route = request.routeOptions.url;
    // Looked up per request, not once: a tracer obtained earlier stays bound to the provider that was
    // registered then, and tests start telemetry more than once in a process.
    const span = trace.getTracer(TRACER_NAME).startSpan(
      // A request no route matched is named by its method only: raw paths would be unbounded names.
      route === undefined ? request.method : `${request.method} ${route}`,
      { kind: SpanKind.SERVER },
      parent,
    );
    if (span.isRecording()) {
      span.setAttributes({
        [ATTR_HTTP_REQUEST_METHOD]: request.method,
        [ATTR_URL_PATH]: pathOf(request.url),
        [ATTR_REQUEST_ID]: request.id,
      });
      if (route !== undefined) span.setAttribute(ATTR_HTTP_ROUTE, route);
    }
    requestTraces.set(request, { span });
    context.with(trace.setSpan(parent, span), done);
  });

  // Every error a hook or handler threw, whatever status the error handler then answers with: the
  // exception is on the span even when the status (a 4xx) does not make the span an error.
  app.addHook('onError', async (request, _reply, error) => {
    const traced = requestTraces.get(request);
    if (!traced) return;
    traced.span.recordException(error);
    traced.error = error;
  });

  app.addHook('onResponse', (request, reply, done) => {
    endSpan(request, ({ span, error }) => {
      const status = reply.statusCode;
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      // For a server, only 5xx are its own failures (HTTP semantic conventions); 4xx are the client's.
      if (status >= 500) {
        span.setAttribute(ATTR_ERROR_TYPE, String(status));
        span.setStatus({ code: SpanStatusCode.ERROR, ...(error ? { message: error.message } : {}) });
      }
    });
    done();
  });

  app.addHook('onRequestAbort', async (request) => {
    endSpan(request, ({ span }) => {
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client closed the connection first' });
    });
  });
};

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * A SERVER span per request, continuing the trace of an incoming `traceparent`, and active for the
 * request's hooks and handler: spans they start, events they append to the outbox and calls they make
 * with injectTraceHeaders join the request's trace. Register it before the other plugins, so their
 * hooks run inside the span too. Without startTelemetry it costs a no-op span per request.
 */
export const tracing = fp(tracingImpl, { name: '@tenantry/telemetry', fastify: '5.x' });
