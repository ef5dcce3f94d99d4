import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import helmet from 'helmet';

/**
 * The headers helmet's defaults set (Content-Security-Policy, Strict-Transport-Security,
 * X-Content-Type-Options and the rest), worked out once. They depend on no request, so running
 * helmet per request, as @fastify/helmet does, would rebuild the same values every time (a few
 * percent of the gateway's CPU).
 */
export function helmetHeaders(): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: unknown) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader() {},
  };
  let failure: unknown;
  helmet()({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    failure = error;
  });
  if (failure !== undefined) throw new Error('helmet refused its own defaults', { cause: failure });
  return Object.freeze(headers);
}

const securityHeadersImpl: FastifyPluginAsync = async (app) => {
  const headers = helmetHeaders();
  // On the reply before anything answers, so errors and proxied responses carry them too (a
  // proxied service's own value for the same header wins, as it did with helmet).
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
};

/** Security headers on every response: helmet's defaults. */
export const securityHeaders = fp(securityHeadersImpl, {
  name: '@tenantry/service-kit/security-headers',
  fastify: '5.x',
});
