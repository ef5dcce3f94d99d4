import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ErrorBody } from './error-body.ts';
import { ERROR_CODES, HttpError } from './http-errors.ts';

const CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: ERROR_CODES.BAD_REQUEST,
  401: ERROR_CODES.UNAUTHORIZED,
  403: ERROR_CODES.FORBIDDEN,
  404: ERROR_CODES.NOT_FOUND,
  405: ERROR_CODES.METHOD_NOT_ALLOWED,
  409: ERROR_CODES.CONFLICT,
  413: ERROR_CODES.PAYLOAD_TOO_LARGE,
  415: ERROR_CODES.UNSUPPORTED_MEDIA_TYPE,
  429: ERROR_CODES.TOO_MANY_REQUESTS,
};

/** The only message a client sees for a failure of ours: details are in the log, under the request id. */
export const INTERNAL_MESSAGE = 'internal error';
export const UNAVAILABLE_MESSAGE = 'temporarily unavailable, retry shortly';
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;
const STABLE_CODE = /^[A-Z][A-Z0-9_]*$/;

interface Rendered {
  statusCode: number;
  code: string;
  message: string;
  field?: string;
  headers?: Readonly<Record<string, string>>;
}

/** Whether an error says what to answer: an HTTP status and a stable code of its own. */
function answers(error: unknown): error is Error & { statusCode: number; code: string } {
  const candidate = error as { statusCode?: unknown; code?: unknown } | null;
  return (
    error instanceof Error &&
    typeof candidate?.statusCode === 'number' &&
    typeof candidate.code === 'string' &&
    STABLE_CODE.test(candidate.code)
  );
}

/**
 * The error that decides the answer: the error itself, or, for a wrapper that says nothing of its own
 * (drizzle's DrizzleQueryError around every failed query, whose message also holds the query's
 * parameters), the first error of its cause chain that does, e.g. a tenant database that is down.
 */
function deciding(error: Error): Error {
  if (error instanceof HttpError || 'statusCode' in error || 'validation' in error) return error;
  for (
    let cause: unknown = error.cause, depth = 0;
    cause && depth < 5;
    cause = (cause as Error).cause, depth++
  ) {
    if (answers(cause)) return cause;
  }
  return error;
}

/**
 * drizzle wraps every failed query in an error whose message holds the query's parameters (emails,
 * token and password hashes); its cause is the driver's error, which does not. Logs get the cause.
 */
function loggable(error: Error): Error {
  const wrapsQuery = error.name === 'DrizzleQueryError' || error.message.startsWith('Failed query:');
  return wrapsQuery && error.cause instanceof Error ? error.cause : error;
}

/** Decides what the client is told about an error. */
function render(error: FastifyError | HttpError | Error): Rendered {
  if (error instanceof HttpError) {
    const { statusCode, code, message, field, headers } = error;
    return { statusCode, code, message, field, headers };
  }
  if ('validation' in error && Array.isArray(error.validation)) return renderValidation(error);
  const statusCode = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
  // Errors that carry a 4xx (Fastify's body parsing, limits, plugins) describe the request, not our
  // internals, so their message is safe to pass on.
  if (statusCode >= 400 && statusCode < 500) {
    return {
      statusCode,
      // Fastify's own codes (FST_ERR_...) name its internals; clients get the status's code instead.
      code:
        answers(error) && !error.code.startsWith('FST_')
          ? error.code
          : (CODE_BY_STATUS[statusCode] ?? ERROR_CODES.BAD_REQUEST),
      message: error.message,
    };
  }
  // A dependency that is down for now (a tenant database during an outage or a suspension): 503 with
  // the error's own stable code, so clients retry instead of reporting a bug. Its message stays in the log.
  if (
    statusCode === 503 &&
    'code' in error &&
    typeof error.code === 'string' &&
    STABLE_CODE.test(error.code)
  ) {
    return {
      statusCode: 503,
      code: error.code,
      message: UNAVAILABLE_MESSAGE,
      headers: { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
    };
  }
  return { statusCode: 500, code: ERROR_CODES.INTERNAL, message: INTERNAL_MESSAGE };
}

/** Names the input at fault as a JSON pointer into the request part AJV checked: `/body/email`. */
function renderValidation(error: FastifyError): Rendered {
  const [first] = error.validation ?? [];
  // Fastify names the query string `querystring`; clients know it as the query.
  const context = error.validationContext === 'querystring' ? 'query' : (error.validationContext ?? 'body');
  const part = `/${context}`;
  if (first === undefined) {
    return { statusCode: 400, code: ERROR_CODES.VALIDATION_FAILED, message: error.message, field: part };
  }
  const missing = first.keyword === 'required' ? first.params.missingProperty : undefined;
  const field = `${part}${first.instancePath}${typeof missing === 'string' ? `/${missing}` : ''}`;
  const message =
    typeof missing === 'string' ? `${field} is required` : `${field} ${first.message ?? 'is invalid'}`;
  return { statusCode: 400, code: ERROR_CODES.VALIDATION_FAILED, message, field };
}

function send(reply: FastifyReply, request: FastifyRequest, rendered: Rendered): FastifyReply {
  const body: ErrorBody = {
    error: {
      code: rendered.code,
      message: rendered.message,
      ...(rendered.field === undefined ? {} : { field: rendered.field }),
      requestId: request.id,
    },
  };
  return reply
    .code(rendered.statusCode)
    .headers(rendered.headers ?? {})
    .send(body);
}

const errorHandlingImpl: FastifyPluginAsync = async (app) => {
  app.setErrorHandler((thrown: FastifyError | HttpError | Error, request, reply) => {
    const error = deciding(thrown);
    const rendered = render(error);
    if (rendered.code === ERROR_CODES.INTERNAL) {
      // The one log line with the full error; the client only gets the request id to quote.
      request.log.error({ err: loggable(error) }, 'request failed');
    } else if (rendered.statusCode >= 500) {
      // A dependency down or a tenant suspended: expected and reported, not a bug with a stack trace.
      request.log.warn(
        { code: rendered.code, statusCode: rendered.statusCode, reason: error.message },
        rendered.message,
      );
    } else {
      request.log.info({ code: rendered.code, statusCode: rendered.statusCode }, rendered.message);
    }
    return send(reply, request, rendered);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0];
    return send(reply, request, {
      statusCode: 404,
      code: ERROR_CODES.NOT_FOUND,
      message: `no route for ${request.method} ${path}`,
    });
  });
};

/** One error handler and one 404 handler, rendering the standard error body. */
export const errorHandling = fp(errorHandlingImpl, {
  name: '@tenantry/service-kit/error-handling',
  fastify: '5.x',
});
