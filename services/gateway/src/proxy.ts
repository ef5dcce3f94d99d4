import httpProxy, { type FastifyHttpProxyOptions } from '@fastify/http-proxy';
import { HttpError } from '@tenantry/service-kit';
import type { FastifyPluginAsync, FastifyRequest, FastifySchema } from 'fastify';
import { limitedBodyStream } from './body-limit.ts';
import { GATEWAY_ERROR_CODES } from './error-codes.ts';
import { forwardedHeaders, forwardedWebSocketHeaders } from './forwarded-headers.ts';
import { type TenantChecksOptions, tenantChecks } from './tenant-checks.ts';
import { SERVICE_NAMES, type ServiceName, servicePrefix, type Upstreams } from './upstreams.ts';

export interface ProxyOptions extends TenantChecksOptions {
  upstreams: Upstreams;
  /** How long an upstream may take to send response headers. */
  upstreamTimeoutMs: number;
}

/** What the client is told when the service could not answer; a 413 raised mid-body passes as is. */
export function upstreamFailure(service: ServiceName, error: Error): HttpError {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof HttpError) return cause;
  }
  // @fastify/reply-from reports a header timeout as a 504 (GatewayTimeoutError).
  if ((error as { statusCode?: unknown }).statusCode === 504) {
    return new HttpError(
      504,
      GATEWAY_ERROR_CODES.UPSTREAM_TIMEOUT,
      `the ${service} service did not answer in time`,
    );
  }
  // Nothing listening or no such name: the service is not deployed (or has no ready pod) — 503, a
  // state that passes. Anything else went wrong mid-exchange — 502.
  const absent =
    NOT_LISTENING.test(error.message) || NOT_LISTENING.test(String((error as { code?: unknown }).code));
  return new HttpError(
    absent ? 503 : 502,
    GATEWAY_ERROR_CODES.UPSTREAM_UNAVAILABLE,
    `the ${service} service is unavailable`,
  );
}

const NOT_LISTENING = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/;

/**
 * `/api/<service>/*` to each service, after the tenant checks. Bodies and responses stream through
 * without buffering (server-sent events arrive chunk by chunk), WebSocket upgrades are proxied, and
 * nothing is retried: a failed request answers 502/503/504 at once instead of piling onto a struggling
 * service (@fastify/reply-from would otherwise retry a GET answered 503 up to ten times).
 */
export const proxyRoutes: FastifyPluginAsync<ProxyOptions> = async (app, options) => {
  await app.register(tenantChecks, options);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', limitedBodyStream);

  // The gateway's own OpenAPI document is not the place for catch-all proxy routes; /docs merges the
  // services' documents instead.
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, hide: true } as FastifySchema;
  });

  for (const service of SERVICE_NAMES) {
    const prefix = servicePrefix(service);
    const upstream = options.upstreams[service];
    if (upstream === null) {
      const notDeployed = async () => {
        throw new HttpError(
          503,
          GATEWAY_ERROR_CODES.UPSTREAM_UNAVAILABLE,
          `the ${service} service is not deployed`,
        );
      };
      app.all(prefix, notDeployed);
      app.all(`${prefix}/*`, notDeployed);
      continue;
    }
    await app.register(httpProxy, {
      upstream,
      prefix,
      rewritePrefix: prefix,
      websocket: true,
      // The body parser above replaces the plugin's, which passes bodies on with no limit.
      proxyPayloads: false,
      disableRequestLogging: true,
      // bodyTimeout 0: a stream may idle between events; the client's disconnect ends it.
      undici: { headersTimeout: options.upstreamTimeoutMs, bodyTimeout: 0 },
      replyOptions: {
        rewriteRequestHeaders: (request, headers) => forwardedHeaders(request as FastifyRequest, headers),
        onError: (reply, { error }) => {
          const failure = upstreamFailure(service, error);
          // The client's body was left unread mid-stream; the connection cannot carry another request.
          if (failure.statusCode === 413) reply.header('connection', 'close');
          reply.send(failure);
        },
        retryDelay: () => null,
      },
      // Supported by the plugin, missing from its types: without it only the cookie header is passed.
      wsClientOptions: {
        rewriteRequestHeaders: (_headers: unknown, request: FastifyRequest) =>
          forwardedWebSocketHeaders(request),
      } as FastifyHttpProxyOptions['wsClientOptions'],
    });
  }
};
