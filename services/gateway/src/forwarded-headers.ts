import type { IncomingHttpHeaders } from 'node:http';
import { TENANT_HEADER } from '@tenantry/identity';
import { REQUEST_ID_HEADER } from '@tenantry/service-kit';
import { injectTraceHeaders } from '@tenantry/telemetry';
import type { FastifyRequest } from 'fastify';
import { isInternalHeader } from './tenant-checks.ts';

/**
 * Headers not passed on as the client sent them. Proxy headers a client may send but only a proxy may
 * vouch for (replaced by the gateway's own); headers about the client's connection to the gateway,
 * not the request (RFC 9110 7.6.1), `expect` among them: the gateway's own server answers
 * `100-continue`, and the upstream client refuses it.
 */
const NOT_FORWARDED = new Set([
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-real-ip',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

/**
 * The headers a proxied request carries upstream: the tenant from the Host (never the client's), the
 * request id so the service's log lines join the gateway's, and who the client is. X-Forwarded-For
 * holds one address, the client as the gateway determined it (TRUSTED_PROXIES decides whose
 * X-Forwarded-For the gateway itself believes), so a service needs to trust the gateway alone.
 */
export function forwardedHeaders(request: FastifyRequest, headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const tenant = request.tenantRoute?.tenant;
  if (tenant === undefined) throw new Error('forwardedHeaders: the request has no tenant resolved');
  // Copied rather than deleted from: deleting keys turns an object into a slow dictionary.
  const forwarded: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (!NOT_FORWARDED.has(name) && !isInternalHeader(name)) forwarded[name] = headers[name];
  }
  forwarded[TENANT_HEADER] = tenant;
  forwarded[REQUEST_ID_HEADER] = request.id;
  forwarded['x-forwarded-for'] = request.ip;
  forwarded['x-forwarded-proto'] = request.protocol;
  if (request.headers.host !== undefined) forwarded['x-forwarded-host'] = request.headers.host;
  // The gateway's own span becomes the parent of the service's (replacing the client's traceparent,
  // which is the gateway span's parent already); nothing is written when telemetry is off.
  injectTraceHeaders(forwarded);
  return forwarded;
}

/**
 * For the upstream WebSocket handshake, which the proxy's client makes itself: its own Host, key,
 * version and extensions, and no body.
 */
export function forwardedWebSocketHeaders(request: FastifyRequest): IncomingHttpHeaders {
  const endToEnd: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (name !== 'host' && name !== 'content-length' && !name.startsWith('sec-websocket-')) {
      endToEnd[name] = value;
    }
  }
  return forwardedHeaders(request, endToEnd);
}
