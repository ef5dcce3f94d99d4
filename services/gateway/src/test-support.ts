import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { EVENTUALLY, serviceAccountKubeConfig, until } from '@tenantry/devstack/testing';
import { type AccessClaims, TenantKeys } from '@tenantry/identity';
import { createLogger } from '@tenantry/logger';
import type { ServiceInstance } from '@tenantry/service-kit';
import type { TenantSpec } from '@tenantry/tenant-api';
import {
  applyManifests,
  loadManifests,
  type OperatorHarness,
  startOperatorHarness,
} from '@tenantry/tenant-operator/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { WebSocketServer } from 'ws';
import { buildGateway, type GatewayOptions } from './gateway.ts';
import { SERVICE_NAMES, type ServiceName, servicePrefix, type Upstreams } from './upstreams.ts';

/**
 * The gateway as it runs in a cluster, in-process: the real operator provisions tenants (Ingress,
 * signing key), the gateway follows them through the API server as a service account bound to
 * exactly config/rbac.yaml, and small real Fastify servers stand in for the services behind it.
 */
export const READY = { timeout: 90_000, interval: 250 };
export { EVENTUALLY, until };

const RBAC_FILE = fileURLToPath(new URL('../config/rbac.yaml', import.meta.url));

/** What an upstream saw of a proxied request. */
export interface Echo {
  service: ServiceName;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bodyBytes: number;
}

export interface FakeService {
  app: FastifyInstance;
  url: string;
  /** `/health` answers 503 while false. */
  healthy: boolean;
  /** Ends every open `/stream` response with its last event. */
  endStreams(): void;
  /** How many `/stream` responses have ended. */
  streamsEnded: number;
  /** How many times its /openapi.json was fetched. */
  openapiRequests: number;
}

/**
 * A stand-in for a service: under its prefix it echoes what it received, streams server-sent events
 * at `<prefix>/stream` (first event at once, the last when the test says), never answers at
 * `<prefix>/hang` and echoes WebSocket messages at `<prefix>/ws`; it serves `/health` and an
 * `/openapi.json` like service-kit's.
 */
export async function startFakeService(service: ServiceName): Promise<FakeService> {
  const prefix = servicePrefix(service);
  // Streams and hung requests stay open until the test ends them; closing must not wait for them.
  const app = Fastify({ forceCloseConnections: true });
  const pendingStreams: (() => void)[] = [];
  const fake: FakeService = {
    app,
    url: '',
    healthy: true,
    streamsEnded: 0,
    openapiRequests: 0,
    endStreams: () => {
      for (const end of pendingStreams.splice(0)) end();
    },
  };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => {
    let bytes = 0;
    payload.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    payload.on('end', () => done(null, bytes));
    payload.on('error', (error) => done(error));
  });

  app.get('/health', async (_request, reply) =>
    reply
      .code(fake.healthy ? 200 : 503)
      .send({ status: fake.healthy ? 'healthy' : 'unhealthy', service, checks: {} }),
  );
  app.addHook('onRequest', async (request) => {
    if (request.url === '/openapi.json') fake.openapiRequests++;
  });
  app.get('/openapi.json', async () => ({
    openapi: '3.1.0',
    info: { title: service, version: '0.1.0' },
    paths: {
      '/health': { get: { summary: 'Readiness' } },
      [`${prefix}/things`]: {
        get: {
          summary: `List ${service} things`,
          parameters: [
            { in: 'header', name: 'x-tenantry-tenant', required: true, schema: { type: 'string' } },
          ],
          responses: {
            200: {
              description: 'ok',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } },
            },
          },
        },
      },
      ...(service === 'auth' ? { '/api/auth/signin': { post: { summary: 'Sign in' } } } : {}),
    },
    components: { schemas: { Thing: { type: 'object', title: `${service} thing` } } },
  }));
  app.get(`${prefix}/stream`, (_request, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    reply.raw.write('data: first\n\n');
    pendingStreams.push(() => {
      reply.raw.end('data: last\n\n');
      fake.streamsEnded += 1;
    });
  });
  app.get(`${prefix}/hang`, (_request, reply) => {
    reply.hijack();
  });
  app.route({
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: `${prefix}/*`,
    handler: async (request) => {
      const echo: Echo = {
        service,
        method: request.method,
        url: request.url,
        headers: request.headers,
        bodyBytes: typeof request.body === 'number' ? request.body : 0,
      };
      return echo;
    },
  });

  const sockets = new WebSocketServer({ noServer: true });
  sockets.on('connection', (socket, upgrade: IncomingMessage) => {
    socket.send(JSON.stringify({ headers: upgrade.headers }));
    socket.on('message', (data) => socket.send(`echo: ${data.toString()}`));
  });
  app.server.on('upgrade', (request: IncomingMessage, socket, head) => {
    if (request.url !== `${prefix}/ws`) {
      socket.destroy();
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit('connection', ws, request));
  });
  app.addHook('onClose', async () => {
    for (const client of sockets.clients) client.terminate();
    sockets.close();
  });

  fake.url = await app.listen({ port: 0, host: '127.0.0.1' });
  return fake;
}

/** A URL nothing listens on: a port that was free a moment ago. */
export async function refusedUrl(): Promise<string> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  return `http://127.0.0.1:${address.port}`;
}

export interface FakeServices {
  services: Record<ServiceName, FakeService>;
  upstreams: Upstreams;
  close(): Promise<void>;
}

export async function startFakeServices(): Promise<FakeServices> {
  const started = await Promise.all(SERVICE_NAMES.map((service) => startFakeService(service)));
  const services = Object.fromEntries(SERVICE_NAMES.map((service, i) => [service, started[i]])) as Record<
    ServiceName,
    FakeService
  >;
  const upstreams = Object.fromEntries(
    SERVICE_NAMES.map((service) => [service, services[service].url]),
  ) as unknown as Upstreams;
  return {
    services,
    upstreams,
    close: async () => {
      await Promise.all(started.map((fake) => fake.app.close()));
    },
  };
}

/** Binds config/rbac.yaml to a new service account of the harness and returns its credentials. */
export async function gatewayKubeConfig(h: OperatorHarness): Promise<KubeConfig> {
  const [role, clusterRole] = loadManifests(RBAC_FILE);
  if (!role || !clusterRole) throw new Error(`${RBAC_FILE} must hold a Role and a ClusterRole`);
  // A ClusterRole of this harness's own: harnesses of other test files run at once.
  const clusterRoleName = `tenantry-gateway-${h.namespace}`;
  const roleName = role.metadata?.name ?? 'tenantry-gateway';
  await applyManifests(
    h.admin,
    [
      { ...role, metadata: { ...role.metadata, name: roleName, namespace: h.namespace } },
      { ...clusterRole, metadata: { ...clusterRole.metadata, name: clusterRoleName } },
    ] as KubernetesObject[],
    'tenantry-tests',
  );
  const kc = await serviceAccountKubeConfig(h.admin, h.namespace, 'tenantry-gateway');
  const rbac = h.admin.makeApiClient(RbacAuthorizationV1Api);
  const subjects = [{ kind: 'ServiceAccount', name: 'tenantry-gateway', namespace: h.namespace }];
  await rbac.createNamespacedRoleBinding({
    namespace: h.namespace,
    body: {
      metadata: { name: 'tenantry-gateway' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
      subjects,
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: clusterRoleName },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRoleName },
      subjects,
    },
  });
  return kc;
}

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | AsyncIterable<Buffer>;
}

/**
 * A request with a Host of our choosing (fetch replaces it with the URL's): tenants are told apart
 * by Host, and their hosts do not resolve.
 */
export async function send(baseUrl: string, host: string, path: string, options: RequestOptions = {}) {
  const response = await open(baseUrl, host, path, options);
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return {
    status: response.statusCode ?? 0,
    headers: response.headers,
    text,
    json: <T>() => JSON.parse(text) as T,
  } satisfies Response;
}

/** The response as it arrives, for streams. */
export function open(
  baseUrl: string,
  host: string,
  path: string,
  options: RequestOptions = {},
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(baseUrl);
    // The path as given, not normalised by URL: dot segments must reach the gateway.
    const request = httpRequest({
      hostname,
      port,
      path,
      method: options.method ?? 'GET',
      headers: { host, ...options.headers },
    });
    request.on('response', resolve);
    request.on('error', reject);
    const { body } = options;
    if (body === undefined) request.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) request.end(body);
    else {
      (async () => {
        for await (const chunk of body) {
          if (!request.write(chunk)) await once(request, 'drain');
        }
        request.end();
      })().catch(reject);
    }
  });
}

export interface GatewayHarness {
  operator: OperatorHarness;
  fakes: FakeServices;
  /** The gateway's credentials (its service account), for another gateway on the same platform. */
  kc: KubeConfig;
  app: ServiceInstance;
  url: string;
  /** Signs as the auth service will: with the tenant's own key, from its Secret. */
  signer: TenantKeys;
  /** Log lines of the gateway, parsed. */
  logs: Record<string, unknown>[];
  /** A tenant through the operator, Ready and routed by the gateway. */
  tenant(spec?: Partial<TenantSpec>, prefix?: string): Promise<string>;
  host(tenant: string): string;
  token(tenant: string, ttlSeconds?: number): Promise<string>;
  stop(): Promise<void>;
}

export async function startGatewayHarness(options: Partial<GatewayOptions> = {}): Promise<GatewayHarness> {
  const operator = await startOperatorHarness();
  const fakes = await startFakeServices();
  const kc = await gatewayKubeConfig(operator);
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: 'gateway',
    level: 'info',
    destination: { write: (line: string) => logs.push(JSON.parse(line)) },
  });
  const app = await buildGateway({
    kc,
    namespace: operator.namespace,
    upstreams: fakes.upstreams,
    logger,
    ...options,
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const signer = await TenantKeys.start({
    kc: operator.admin,
    namespace: operator.keysNamespace,
    signing: true,
  });
  const host = (tenant: string) => `${tenant}.${operator.baseDomain}`;

  return {
    operator,
    fakes,
    kc,
    app,
    url,
    signer,
    logs,
    host,
    async tenant(spec = {}, prefix = 'gw') {
      const name = operator.tenantName(prefix);
      await operator.createTenant(name, { plan: 'pro', ...spec });
      await until(
        `tenant ${name} Ready`,
        async () => (await operator.condition(name, 'Ready'))?.status === 'True',
        READY,
      );
      await until(`tenant ${name} signing key`, async () => signer.has(name));
      // 401 once routed (no token); requests refused as TENANT_NOT_FOUND count against no limit.
      await until(
        `tenant ${name} routed by the gateway`,
        async () => (await send(url, host(name), '/api/users/me')).status !== 404,
      );
      return name;
    },
    token(tenant, ttlSeconds) {
      const claims: AccessClaims = {
        sub: randomUUID(),
        tenant,
        role: 'member',
        email: `ada@${tenant}.test`,
        emailVerified: true,
        sid: randomUUID(),
      };
      return signer.sign(claims, ttlSeconds);
    },
    async stop() {
      await app.close();
      await signer.close();
      await fakes.close();
      await operator.stop();
    },
  };
}

/** A Plan of the test's own (cluster-scoped, so named uniquely), removed by the returned function. */
export async function createPlan(
  admin: KubeConfig,
  name: string,
  requestsPerMinute: number,
  otherLimits: Record<string, number> = {},
) {
  const custom = admin.makeApiClient(CustomObjectsApi);
  const ref = { group: 'tenantry.dev', version: 'v1alpha1', plural: 'plans' };
  await custom.createClusterCustomObject({
    ...ref,
    body: {
      apiVersion: 'tenantry.dev/v1alpha1',
      kind: 'Plan',
      metadata: { name },
      spec: {
        rateLimit: { requestsPerMinute, ...otherLimits },
        chat: { monthlyTokens: 1000 },
        kafka: { partitions: 1, retentionHours: 1 },
        postgres: { connectionLimit: 5 },
      },
    },
  });
  return async () => {
    await custom.deleteClusterCustomObject({ ...ref, name });
  };
}
