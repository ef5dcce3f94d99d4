import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { createLogger } from '@tenantry/logger';
import type { ServiceInstance } from '@tenantry/service-kit';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { buildGateway } from './gateway.ts';
import type { OpenApiDocument } from './openapi-merge.ts';
import {
  type Echo,
  EVENTUALLY,
  type GatewayHarness,
  open,
  refusedUrl,
  send,
  startGatewayHarness,
} from './test-support.ts';

/**
 * The proxy itself against real upstream servers: streams pass through unbuffered (server-sent
 * events, WebSockets), failures of a service are JSON errors, bodies are held to the platform limit,
 * and the gateway's own aggregate health and merged OpenAPI document.
 */
let h: GatewayHarness;
let tenant: string;
/** A second gateway on the same platform: billing unreachable, a 500 ms header timeout, and the
 * loopback proxy trusted. */
let degraded: ServiceInstance;
let degradedUrl: string;

beforeAll(async () => {
  h = await startGatewayHarness();
  degraded = await buildGateway({
    kc: h.kc,
    namespace: h.operator.namespace,
    upstreams: { ...h.fakes.upstreams, billing: await refusedUrl() },
    upstreamTimeoutMs: 500,
    trustedProxies: ['127.0.0.1'],
    logger: createLogger({ service: 'gateway', level: 'silent' }),
  });
  degradedUrl = await degraded.listen({ port: 0, host: '127.0.0.1' });
  tenant = await h.tenant();
});
afterAll(async () => {
  await degraded?.close();
  await h?.stop();
});

async function bearer(): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await h.token(tenant)}` };
}

/** The body received so far, and a promise of its end. */
function collect(response: IncomingMessage): { text: () => string; ended: Promise<unknown> } {
  let text = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    text += chunk;
  });
  return { text: () => text, ended: once(response, 'end') };
}

describe('streaming', () => {
  test('server-sent events arrive one by one, before the service ends the stream', async () => {
    const response = await open(h.url, h.host(tenant), '/api/chat/stream', { headers: await bearer() });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream');
    const body = collect(response);

    await expect.poll(body.text, EVENTUALLY).toContain('data: first');
    expect(body.text()).not.toContain('data: last');
    expect(h.fakes.services.chat.streamsEnded).toBe(0);

    h.fakes.services.chat.endStreams();
    await body.ended;
    expect(body.text()).toBe('data: first\n\ndata: last\n\n');
  });

  test("a WebSocket is proxied both ways, with the tenant of the Host and the caller's token", async () => {
    const token = await h.token(tenant);
    const socket = new WebSocket(`${h.url.replace('http', 'ws')}/api/chat/ws`, {
      headers: {
        host: h.host(tenant),
        authorization: `Bearer ${token}`,
        'x-tenantry-tenant': 'someone-else',
        'x-request-id': 'ws-req-1',
      },
    });
    const messages: string[] = [];
    socket.on('message', (data) => messages.push(data.toString()));
    await once(socket, 'open');
    try {
      await expect.poll(() => messages.length, EVENTUALLY).toBe(1);
      const { headers } = JSON.parse(messages[0] ?? '{}') as { headers: Record<string, string> };
      expect(headers).toMatchObject({
        'x-tenantry-tenant': tenant,
        authorization: `Bearer ${token}`,
        'x-request-id': 'ws-req-1',
        'x-forwarded-host': h.host(tenant),
      });
      socket.send('hello');
      await expect.poll(() => messages[1], EVENTUALLY).toBe('echo: hello');
    } finally {
      socket.close();
    }
  });

  test('a WebSocket upgrade passes the same checks: without a token it is refused with 401', async () => {
    const socket = new WebSocket(`${h.url.replace('http', 'ws')}/api/chat/ws`, {
      headers: { host: h.host(tenant) },
    });
    socket.on('error', () => {});
    const [, response] = (await once(socket, 'unexpected-response')) as [unknown, IncomingMessage];
    expect(response.statusCode).toBe(401);
    response.resume();
  });
});

describe('failures of a service', () => {
  test('an unreachable (not deployed) service is a 503 UPSTREAM_UNAVAILABLE naming it in the standard body', async () => {
    const response = await send(degradedUrl, h.host(tenant), '/api/billing/invoices', {
      headers: { ...(await bearer()), 'x-request-id': 'req-down-1' },
    });
    expect(response.status).toBe(503);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual({
      error: {
        code: 'UPSTREAM_UNAVAILABLE',
        message: 'the billing service is unavailable',
        requestId: 'req-down-1',
      },
    });
  });

  test('a service that does not answer in time is a 504 UPSTREAM_TIMEOUT', async () => {
    const response = await send(degradedUrl, h.host(tenant), '/api/users/hang', { headers: await bearer() });
    expect(response.status).toBe(504);
    expect(response.json()).toMatchObject({ error: { code: 'UPSTREAM_TIMEOUT' } });
  });

  test("behind a trusted proxy, the client's X-Forwarded-For and -Proto are passed on", async () => {
    const response = await send(degradedUrl, h.host(tenant), '/api/users/me', {
      headers: { ...(await bearer()), 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' },
    });
    expect(response.status).toBe(200);
    expect(response.json<Echo>().headers).toMatchObject({
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'https',
    });
  });
});

describe('body limit', () => {
  test('a body under 10 MB streams through; over it, 413 PAYLOAD_TOO_LARGE', async () => {
    const headers = { ...(await bearer()), 'content-type': 'application/octet-stream' };
    const nineMb = Buffer.alloc(9 * 1024 * 1024, 1);
    const under = await send(h.url, h.host(tenant), '/api/chat/uploads', {
      method: 'POST',
      headers,
      body: nineMb,
    });
    expect(under.status).toBe(200);
    expect(under.json<Echo>().bodyBytes).toBe(nineMb.length);

    const elevenMb = Buffer.alloc(11 * 1024 * 1024, 1);
    const over = await send(h.url, h.host(tenant), '/api/chat/uploads', {
      method: 'POST',
      headers,
      body: elevenMb,
    });
    expect(over.status).toBe(413);
    expect(over.json()).toMatchObject({
      error: { code: 'PAYLOAD_TOO_LARGE', requestId: over.headers['x-request-id'] },
    });
  });

  test('a chunked body (no Content-Length) is counted: over 10 MB, 413 PAYLOAD_TOO_LARGE', async () => {
    async function* chunks(total: number) {
      const chunk = Buffer.alloc(256 * 1024, 1);
      for (let sent = 0; sent < total; sent += chunk.length) yield chunk;
    }
    const response = await send(h.url, h.host(tenant), '/api/chat/uploads', {
      method: 'POST',
      headers: { ...(await bearer()), 'content-type': 'application/octet-stream' },
      body: chunks(12 * 1024 * 1024),
    });
    expect(response.status).toBe(413);
    expect(response.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
  });
});

describe('aggregate health', () => {
  test('GET /api/health is 200 with every service healthy', async () => {
    const response = await send(h.url, 'localhost', '/api/health');
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({
      gateway: 'healthy',
      services: {
        auth: 'healthy',
        users: 'healthy',
        chat: 'healthy',
        billing: 'healthy',
        notifications: 'healthy',
        analytics: 'healthy',
      },
    });
  });

  test('a service not deployed: 503 naming it, and /api/health reports it without counting it down', async () => {
    const gateway = await buildGateway({
      kc: h.kc,
      namespace: h.operator.namespace,
      upstreams: { ...h.fakes.upstreams, analytics: null },
      logger: createLogger({ service: 'gateway', level: 'silent' }),
    });
    try {
      const url = await gateway.listen({ port: 0, host: '127.0.0.1' });
      const call = await send(url, h.host(tenant), '/api/analytics/users/growth', {
        headers: await bearer(),
      });
      expect(call.status).toBe(503);
      expect(call.json()).toMatchObject({
        error: { code: 'UPSTREAM_UNAVAILABLE', message: 'the analytics service is not deployed' },
      });
      const unauthenticated = await send(url, h.host(tenant), '/api/analytics/users/growth');
      expect(unauthenticated.status).toBe(401);
      const health = await send(url, 'localhost', '/api/health');
      expect(health.status).toBe(200);
      expect(health.json()).toMatchObject({ services: { auth: 'healthy', analytics: 'not_deployed' } });
    } finally {
      await gateway.close();
    }
  });

  test('GET /api/health is 503 naming each service unreachable or unhealthy', async () => {
    h.fakes.services.notifications.healthy = false;
    try {
      const response = await send(degradedUrl, 'localhost', '/api/health');
      expect(response.status).toBe(503);
      expect(response.json()).toMatchObject({
        gateway: 'healthy',
        services: { auth: 'healthy', billing: 'unreachable', notifications: 'unhealthy' },
      });
    } finally {
      h.fakes.services.notifications.healthy = true;
    }
  });
});

describe('API documentation', () => {
  test("GET /docs/openapi.json merges every service's document as clients of the gateway see it", async () => {
    const response = await send(h.url, 'localhost', '/docs/openapi.json');
    expect(response.status).toBe(200);
    const document = response.json<OpenApiDocument>();
    expect(document).toMatchObject({
      openapi: '3.1.0',
      info: { title: 'Tenantry API' },
      security: [{ bearerAuth: [] }],
      'x-tenantry-services': {
        auth: 'included',
        users: 'included',
        chat: 'included',
        billing: 'included',
        notifications: 'included',
        analytics: 'included',
      },
    });
    const paths = Object.keys(document.paths ?? {});
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/health',
        '/api/auth/signin',
        '/api/auth/things',
        '/api/users/things',
        '/api/analytics/things',
      ]),
    );
    // A service's own /health is not reachable through the gateway.
    expect(paths).not.toContain('/health');
    const signin = document.paths?.['/api/auth/signin']?.post as { security?: unknown };
    expect(signin.security).toEqual([]);
    // The tenant header is the gateway's to set, not the client's to send.
    const things = document.paths?.['/api/users/things']?.get as {
      parameters: unknown[];
      responses: unknown;
    };
    expect(things.parameters).toEqual([]);
    // Each service's own Thing, told apart.
    expect(JSON.stringify(things.responses)).toContain('#/components/schemas/users.Thing');
    expect(document.components?.schemas?.['users.Thing']).toEqual({ type: 'object', title: 'users thing' });
    expect(document.components?.schemas?.['auth.Thing']).toEqual({ type: 'object', title: 'auth thing' });
  });

  test('a service that is down is listed as missing, and the rest still served', async () => {
    const response = await send(degradedUrl, 'localhost', '/docs/openapi.json');
    expect(response.status).toBe(200);
    const document = response.json<OpenApiDocument>();
    expect(document['x-tenantry-services']).toMatchObject({ billing: 'missing', auth: 'included' });
    expect(Object.keys(document.paths ?? {})).toContain('/api/chat/things');
    expect(document.info.description).toContain('Unavailable when this document was built: billing.');
  });

  test('the merged document is cached: a burst asks each service once', async () => {
    // The cache may hold a document from the tests above: a burst within it asks nobody again.
    const before = h.fakes.services.users.openapiRequests;
    const burst = await Promise.all(
      Array.from({ length: 10 }, () => send(h.url, 'localhost', '/docs/openapi.json')),
    );
    expect(burst.map((response) => response.status)).toEqual(Array(10).fill(200));
    expect(h.fakes.services.users.openapiRequests - before).toBeLessThanOrEqual(1);
  });

  test('GET /docs is a page listing the operations', async () => {
    const response = await send(h.url, 'localhost', '/docs');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.text).toContain('<code>/api/chat/things</code>');
    expect(response.text).toContain('href="/docs/openapi.json"');
  });

  test('one client is limited to 60 documentation requests a minute (429), with RateLimit headers', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 70; i++) statuses.push((await send(h.url, 'localhost', '/docs/openapi.json')).status);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(60);
    const limited = await send(h.url, 'localhost', '/docs');
    expect(limited.status).toBe(429);
    expect(limited.json<{ error: { code: string } }>().error.code).toBe('TOO_MANY_REQUESTS');
  });
});
