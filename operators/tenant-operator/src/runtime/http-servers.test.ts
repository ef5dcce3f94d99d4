import { createServer } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, test } from 'vitest';
import { type OperatorServers, type ReadyState, startOperatorServers } from './http-servers.ts';

const HOST = '127.0.0.1';
const opened: OperatorServers[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

async function start(ready: () => ReadyState = () => ({ ok: true }), registry = new Registry()) {
  const servers = await startOperatorServers({ metricsPort: 0, probesPort: 0, host: HOST, registry, ready });
  opened.push(servers);
  return {
    servers,
    metrics: (path: string, init?: RequestInit) =>
      fetch(`http://${HOST}:${servers.metricsPort}${path}`, init),
    probes: (path: string, init?: RequestInit) => fetch(`http://${HOST}:${servers.probesPort}${path}`, init),
  };
}

describe('startOperatorServers', () => {
  test('binds port 0 to real, distinct ports and reports them', async () => {
    const { servers } = await start();
    expect(servers.metricsPort).toBeGreaterThan(0);
    expect(servers.probesPort).toBeGreaterThan(0);
    expect(servers.metricsPort).not.toBe(servers.probesPort);
  });

  test('GET /metrics serves the registry in the Prometheus text format', async () => {
    const registry = new Registry();
    new Counter({ name: 'http_servers_test_total', help: 'test counter', registers: [registry] }).inc(2);
    const { metrics, probes } = await start(undefined, registry);
    const res = await metrics('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(registry.contentType);
    expect(await res.text()).toContain('http_servers_test_total 2');
    // Each server serves only its own paths.
    expect((await probes('/metrics')).status).toBe(404);
    expect((await metrics('/healthz')).status).toBe(404);
  });

  test('GET /healthz answers ok', async () => {
    const { probes } = await start(() => ({ ok: false, reason: 'not leader' }));
    const res = await probes('/healthz');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  });

  test('GET /readyz follows ready(), with its reason when not ready', async () => {
    let state: ReadyState = { ok: false, reason: 'waiting for the leader lease' };
    const { probes } = await start(() => state);
    const notReady = await probes('/readyz');
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toBe('waiting for the leader lease');

    state = { ok: true };
    const readyRes = await probes('/readyz?verbose=1');
    expect(readyRes.status).toBe(200);
    expect(await readyRes.text()).toBe('ok');
  });

  test('a throwing ready() fails the probe with 500 instead of crashing the server', async () => {
    const { probes } = await start(() => {
      throw new Error('broken check');
    });
    const res = await probes('/readyz');
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('broken check');
    expect((await probes('/healthz')).status).toBe(200);
  });

  test('unknown paths are 404 and other methods 405', async () => {
    const { metrics, probes } = await start();
    expect((await probes('/nope')).status).toBe(404);
    expect((await metrics('/')).status).toBe(404);
    const post = await probes('/healthz', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  test('close() stops both listeners', async () => {
    const { servers, probes } = await start();
    await probes('/healthz');
    await servers.close();
    opened.splice(opened.indexOf(servers), 1);
    await expect(fetch(`http://${HOST}:${servers.probesPort}/healthz`)).rejects.toThrow();
    await expect(fetch(`http://${HOST}:${servers.metricsPort}/metrics`)).rejects.toThrow();
  });

  test('a port in use fails with context and leaves nothing listening', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, HOST, resolve));
    const port = (blocker.address() as { port: number }).port;
    const listeners = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    const before = listeners();
    try {
      await expect(
        startOperatorServers({
          metricsPort: 0,
          probesPort: port,
          host: HOST,
          registry: new Registry(),
          ready: () => ({ ok: true }),
        }),
      ).rejects.toThrow(`while starting the probes server on ${HOST}:${port}`);
      // The metrics server, which did start, is closed again (libuv releases handles a loop turn later).
      await expect.poll(listeners, { timeout: 5000 }).toBe(before);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
