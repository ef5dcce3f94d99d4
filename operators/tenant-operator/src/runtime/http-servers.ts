import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ReadyState {
  ok: boolean;
  /** Why the operator is not ready; sent as the 503 body. */
  reason?: string;
}

export interface OperatorServersOptions {
  metricsPort: number;
  probesPort: number;
  /** Interface to listen on; by default every interface, since the kubelet probes the pod IP. */
  host?: string;
  registry: Registry;
  ready: () => ReadyState;
}

export interface OperatorServers {
  /** The ports actually bound (differs from the options when they asked for port 0). */
  metricsPort: number;
  probesPort: number;
  close(): Promise<void>;
}

type Routes = Record<string, () => Promise<Reply> | Reply>;
interface Reply {
  status: number;
  body: string;
  contentType?: string;
}

const TEXT = 'text/plain; charset=utf-8';

/** Serves the metrics (`GET /metrics`) and probes (`GET /healthz`, `GET /readyz`) of the operator. */
export async function startOperatorServers(options: OperatorServersOptions): Promise<OperatorServers> {
  const { registry, ready } = options;
  const metrics = createServer(
    handler({
      '/metrics': async () => ({
        status: 200,
        body: await registry.metrics(),
        contentType: registry.contentType,
      }),
    }),
  );
  const probes = createServer(
    handler({
      // Answering at all proves the event loop is alive, which is all liveness should claim: a failing
      // dependency must fail readiness, not get the pod restarted.
      '/healthz': () => ({ status: 200, body: 'ok' }),
      '/readyz': () => {
        const state = ready();
        return state.ok ? { status: 200, body: 'ok' } : { status: 503, body: state.reason ?? 'not ready' };
      },
    }),
  );
  const servers = [metrics, probes];
  try {
    const metricsPort = await listen(metrics, options.metricsPort, options.host, 'metrics');
    const probesPort = await listen(probes, options.probesPort, options.host, 'probes');
    return { metricsPort, probesPort, close: () => closeAll(servers) };
  } catch (error) {
    await closeAll(servers.filter((s) => s.listening));
    throw error;
  }
}

function handler(routes: Routes): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = routes[path];
    void reply(req, res, () => {
      if (!route) return { status: 404, body: 'not found' };
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        return { status: 405, body: 'method not allowed' };
      }
      return route();
    });
  };
}

/** Never rejects: a failing route becomes a 500 naming the path. */
async function reply(
  req: IncomingMessage,
  res: ServerResponse,
  produce: () => Promise<Reply> | Reply,
): Promise<void> {
  let result: Reply;
  try {
    result = await produce();
  } catch (error) {
    result = { status: 500, body: `${req.url}: ${error instanceof Error ? error.message : String(error)}` };
  }
  res.statusCode = result.status;
  res.setHeader('content-type', result.contentType ?? TEXT);
  res.end(req.method === 'HEAD' ? undefined : result.body);
}

function listen(server: Server, port: number, host: string | undefined, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) =>
      reject(
        new Error(`while starting the ${name} server on ${host ?? '*'}:${port}: ${error.message}`, {
          cause: error,
        }),
      );
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Node 20 also closes idle keep-alive connections on close(), so this does not wait for their timeout. */
function closeAll(servers: Server[]): Promise<void> {
  return Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve, reject) => {
          server.close((error) => (error ? reject(error) : resolve()));
        }),
    ),
  ).then(() => undefined);
}
