import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { devstack } from '@tenantry/devstack/testing';
import {
  ownerSecretName,
  TENANT_GROUP,
  TENANT_PLURAL,
  TENANT_VERSION,
  type Tenant,
} from '@tenantry/tenant-api';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type OperatorHarness, SHARD_LABEL, startOperatorHarness } from './test-support.ts';

/**
 * The operator as a process (`src/main.ts`), as it runs in its pod: configuration errors, telemetry
 * reaching a collector, graceful stop on SIGTERM, and no credential in any log line. The harness
 * provides the namespaces and the service account; each process reconciles a shard of its own.
 */
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const SLOW = { timeout: 60_000, interval: 250 };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const ref = { group: TENANT_GROUP, version: TENANT_VERSION, plural: TENANT_PLURAL };

let h: OperatorHarness;
let dir: string;
let kubeconfig: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  h = await startOperatorHarness();
  dir = mkdtempSync(join(tmpdir(), 'tenantry-operator-process-'));
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, h.operatorKc.exportConfig());
}, 120_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

interface OperatorProcess {
  child: ChildProcess;
  /** Every stdout line, raw: what a log collector would store. */
  lines: string[];
  exitCode: Promise<number | null>;
}

function runOperator(env: Record<string, string>): OperatorProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', KUBECONFIG: kubeconfig, ...env },
  });
  children.push(child);
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => lines.push(line));
  }
  return { child, lines, exitCode: once(child, 'exit').then(([code]) => code as number | null) };
}

/** The environment of a process reconciling only Tenants labelled with `shard`. */
function operatorEnv(shard: string, overrides: Record<string, string> = {}): Record<string, string> {
  const { postgres, kafka } = devstack();
  return {
    POSTGRES_ADMIN_URL: postgres.url,
    KAFKA_BROKERS: kafka.brokers.join(','),
    PLATFORM_NAMESPACE: h.namespace,
    TENANTRY_BASE_DOMAIN: `${shard}.test`,
    OPERATOR_TENANT_SELECTOR: `${SHARD_LABEL}=${shard}`,
    OPERATOR_LEADER_ELECTION: 'false',
    OPERATOR_RESYNC_SECONDS: '3',
    OPERATOR_METRICS_PORT: '0',
    OPERATOR_PROBES_PORT: '0',
    // Everything the operator can log, so that a credential in any line is seen.
    LOG_LEVEL: 'trace',
    ...overrides,
  };
}

async function createTenant(name: string, shard: string): Promise<void> {
  await h.admin.makeApiClient(CustomObjectsApi).createClusterCustomObject({
    ...ref,
    body: {
      apiVersion: `${TENANT_GROUP}/${TENANT_VERSION}`,
      kind: 'Tenant',
      metadata: { name, labels: { [SHARD_LABEL]: shard } },
      spec: { displayName: name, plan: 'free', database: { reclaimPolicy: 'Delete' } },
    },
  });
}

/** Deletes a tenant whatever its operator can still do: its finalizer is removed as admin. */
async function forceDelete(name: string): Promise<void> {
  const custom = h.admin.makeApiClient(CustomObjectsApi);
  await custom
    .patchClusterCustomObject({ ...ref, name, body: { metadata: { finalizers: [] } } }, mergePatch)
    .catch(() => {});
  await custom.deleteClusterCustomObject({ ...ref, name }).catch(() => {});
}

async function condition(name: string, type: string) {
  const tenant = (await h.getTenant(name)) as Tenant | undefined;
  return tenant?.status?.conditions?.find((c) => c.type === type);
}

test('an invalid configuration exits 2, naming every invalid variable in one line', async () => {
  const operator = runOperator({ KAFKA_BROKERS: 'kafka', OPERATOR_CONCURRENCY: '0' });
  expect(await operator.exitCode).toBe(2);
  const issues = operator.lines
    .map((line) => JSON.parse(line) as { issues?: string[] })
    .flatMap((l) => l.issues ?? []);
  expect(issues).toEqual([
    'POSTGRES_ADMIN_URL is required',
    'KAFKA_BROKERS must be host:port[,host:port...], got "kafka"',
    'OPERATOR_CONCURRENCY must be an integer from 1 to 64, got "0"',
  ]);
}, 60_000);

test('reconcile spans reach the configured collector; SIGTERM stops the operator cleanly', async () => {
  const received: string[] = [];
  const collector = createServer(async (request: IncomingMessage, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    if (request.url === '/v1/traces') received.push(body);
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = collector.address() as AddressInfo;
    const shard = h.tenantName('otel');
    const operator = runOperator(
      operatorEnv(shard, { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` }),
    );
    const name = h.tenantName('traced');
    try {
      await createTenant(name, shard);
      await expect.poll(async () => (await condition(name, 'Ready'))?.status, SLOW).toBe('True');
      await h.deleteTenant(name);
      await expect.poll(() => h.getTenant(name), SLOW).toBeUndefined();
      operator.child.kill('SIGTERM');
      expect(await operator.exitCode).toBe(0);
    } finally {
      await forceDelete(name);
    }
    // Flushed by the graceful stop at the latest.
    const spans = received.join('\n');
    expect(spans).toContain('"tenant.reconcile"');
    expect(spans).toContain('"tenant.database"');
    expect(spans).toContain('{"key":"service.name","value":{"stringValue":"tenant-operator"}}');
    expect(spans).toContain(`{"key":"tenantry.tenant","value":{"stringValue":"${name}"}}`);
    expect(operator.lines.map((line) => (JSON.parse(line) as { msg?: string }).msg)).toContain(
      'closed, exiting',
    );
  } finally {
    await new Promise<void>((resolve) => collector.close(() => resolve()));
  }
}, 120_000);

test('no log line carries the admin URL or a tenant owner password, through success and failure', async () => {
  const { postgres } = devstack();
  const adminPassword = decodeURIComponent(new URL(postgres.url).password);
  // A working operator: provisioning writes the owner password, and the configuration it logs at
  // start holds the admin URL.
  const shard = h.tenantName('logs');
  const healthy = runOperator(operatorEnv(shard));
  const name = h.tenantName('quiet');
  // One that fails on every reconcile, for an admin URL with a wrong password it does carry.
  const badShard = h.tenantName('badpw');
  const wrongUrl = new URL(postgres.url);
  wrongUrl.password = `wrong-${badShard}`;
  const failing = runOperator(operatorEnv(badShard, { POSTGRES_ADMIN_URL: wrongUrl.toString() }));
  const badName = h.tenantName('refused');
  try {
    await createTenant(name, shard);
    await createTenant(badName, badShard);
    await expect.poll(async () => (await condition(name, 'Ready'))?.status, SLOW).toBe('True');
    await expect
      .poll(async () => (await condition(badName, 'DatabaseReady'))?.reason, SLOW)
      .toBe('PostgresError');
    await expect.poll(() => failing.lines.some((line) => line.includes('reconcile failed')), SLOW).toBe(true);
    const secret = await h.admin
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ name: ownerSecretName(name), namespace: h.keysNamespace });
    const ownerPassword = Buffer.from(secret.data?.password ?? '', 'base64').toString('utf8');
    expect(ownerPassword.length).toBeGreaterThan(16);

    const started = healthy.lines.find((line) => line.includes('tenant-operator running')) ?? '';
    expect(JSON.parse(started)).toMatchObject({ config: { postgresAdminUrl: '[Redacted]' } });
    for (const [process, secrets] of [
      [healthy, [adminPassword, postgres.url, ownerPassword]],
      [failing, [wrongUrl.password, wrongUrl.toString()]],
    ] as const) {
      expect(process.lines.length).toBeGreaterThan(1);
      for (const value of secrets) {
        expect(process.lines.filter((line) => line.includes(value))).toEqual([]);
      }
    }
    // The healthy operator cleans up both (the failing one created the other's topics).
    await h.admin
      .makeApiClient(CustomObjectsApi)
      .patchClusterCustomObject(
        { ...ref, name: badName, body: { metadata: { labels: { [SHARD_LABEL]: shard } } } },
        mergePatch,
      );
    failing.child.kill('SIGTERM');
    await failing.exitCode;
    for (const tenant of [name, badName]) await h.deleteTenant(tenant);
    for (const tenant of [name, badName]) await expect.poll(() => h.getTenant(tenant), SLOW).toBeUndefined();
  } finally {
    healthy.child.kill('SIGTERM');
    failing.child.kill('SIGTERM');
    await Promise.all([healthy.exitCode, failing.exitCode]);
    await forceDelete(name);
    await forceDelete(badName);
  }
}, 120_000);
