import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { down, type Endpoints, loadConfig, silentProgress, up } from '@tenantry/devstack';
import type { PlanSpec } from '@tenantry/tenant-api';
import {
  appSecretName,
  databaseName,
  FINALIZER,
  PLAN_PLURAL,
  TENANT_GROUP,
  TENANT_VERSION,
} from '@tenantry/tenant-api';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type OperatorHarness, SHARD_LABEL, startOperatorHarness } from './test-support.ts';

/**
 * The operator when things go wrong. It runs against a private PostgreSQL and Kafka of this file's
 * own (a second devstack, postgres + kafka only), so they can really be stopped and started without
 * disturbing other test files.
 */
const stateBase = mkdtempSync(join(tmpdir(), 'tenantry-outage-'));
const privateStack = loadConfig('test', {
  ...process.env,
  TENANTRY_STATE_DIR: stateBase,
  TENANTRY_INFRA: 'local',
});
let endpoints: Endpoints;
let h: OperatorHarness;
const SLOW = { timeout: 90_000, interval: 250 };
/** Above SLOW: a test polls at most twice with it. */
const TEST_TIMEOUT = 200_000;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

beforeAll(async () => {
  ({ endpoints } = await up(privateStack, silentProgress, { only: ['postgres', 'kafka'] }));
  h = await startOperatorHarness({
    env: { POSTGRES_ADMIN_URL: endpoints.postgres.url, KAFKA_BROKERS: endpoints.kafka.brokers.join(',') },
    // Outages are expected here; their warnings explain a failure if one happens.
    logLevel: 'warn',
  });
}, 180_000);

afterAll(async () => {
  try {
    await up(privateStack, silentProgress, { only: ['postgres', 'kafka'] });
    // Bounded: whatever happens to the operator, the private stack below must not outlive the run.
    await Promise.race([h?.stop(), new Promise((resolve) => setTimeout(resolve, 90_000))]);
  } finally {
    await down(privateStack, silentProgress);
    rmSync(stateBase, { recursive: true, force: true });
  }
}, 180_000);

async function ready(name: string) {
  await expect.poll(async () => (await h.condition(name, 'Ready'))?.status, SLOW).toBe('True');
}

async function createPlan(name: string, spec: PlanSpec) {
  await h.admin.makeApiClient(CustomObjectsApi).createClusterCustomObject({
    group: TENANT_GROUP,
    version: TENANT_VERSION,
    plural: PLAN_PLURAL,
    body: { apiVersion: `${TENANT_GROUP}/${TENANT_VERSION}`, kind: 'Plan', metadata: { name }, spec },
  });
}

async function patchPlan(name: string, spec: Partial<PlanSpec>) {
  await h.admin
    .makeApiClient(CustomObjectsApi)
    .patchClusterCustomObject(
      { group: TENANT_GROUP, version: TENANT_VERSION, plural: PLAN_PLURAL, name, body: { spec } },
      mergePatch,
    );
}

const basePlan: PlanSpec = {
  rateLimit: { requestsPerMinute: 100 },
  chat: { monthlyTokens: 1000 },
  kafka: { partitions: 2, retentionHours: 24 },
  postgres: { connectionLimit: 5 },
};

describe('dependencies unavailable', { timeout: TEST_TIMEOUT }, () => {
  test('Kafka down: TopicsReady turns False naming Kafka; the tenant becomes Ready on its own once Kafka is back', async () => {
    await down(privateStack, silentProgress, { only: ['kafka'] });
    const name = h.tenantName('nokafka');
    await h.createTenant(name, {});
    await expect
      .poll(async () => (await h.condition(name, 'TopicsReady'))?.reason, SLOW)
      .toBe('KafkaUnavailable');
    expect((await h.condition(name, 'DatabaseReady'))?.status).toBe('True');
    expect((await h.condition(name, 'Ready'))?.status).toBe('False');
    await up(privateStack, silentProgress, { only: ['kafka'] });
    await ready(name);
  });

  test('PostgreSQL down: DatabaseReady turns False naming PostgreSQL; Ready once it is back', async () => {
    await down(privateStack, silentProgress, { only: ['postgres'] });
    const name = h.tenantName('nopg');
    await h.createTenant(name, {});
    await expect
      .poll(async () => (await h.condition(name, 'DatabaseReady'))?.reason, SLOW)
      .toBe('PostgresUnavailable');
    expect((await h.condition(name, 'DatabaseReady'))?.message).toContain(databaseName(name));
    await up(privateStack, silentProgress, { only: ['postgres'] });
    await ready(name);
  });
});

describe('cleanup', { timeout: TEST_TIMEOUT }, () => {
  test('a cleanup that fails keeps the finalizer and says why; it completes once PostgreSQL is back', async () => {
    const name = h.tenantName('stuck');
    await h.createTenant(name, { database: { reclaimPolicy: 'Delete' } });
    await ready(name);
    await down(privateStack, silentProgress, { only: ['postgres'] });
    try {
      await h.deleteTenant(name);
      await expect.poll(async () => (await h.condition(name, 'Ready'))?.reason, SLOW).toBe('CleanupFailed');
      expect((await h.getTenant(name))?.metadata.finalizers).toContain(FINALIZER);
      expect((await h.condition(name, 'Ready'))?.message).toContain(
        `dropping database ${databaseName(name)}`,
      );
      const events = await h.admin
        .makeApiClient(CoreV1Api)
        .listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` });
      expect(events.items.map((e) => e.reason)).toContain('CleanupFailed');
    } finally {
      await up(privateStack, silentProgress, { only: ['postgres'] });
    }
    await expect.poll(() => h.getTenant(name), SLOW).toBeUndefined();
    const sql = postgres(endpoints.postgres.url, { max: 1, onnotice: () => {} });
    const rows = await sql`select 1 from pg_database where datname = ${databaseName(name)}`;
    await sql.end();
    expect(rows).toHaveLength(0);
  });
});

describe('routes', { timeout: TEST_TIMEOUT }, () => {
  test('a second tenant claiming an existing tenant domain gets DomainConflict; the first keeps it', async () => {
    const first = h.tenantName('first');
    const second = h.tenantName('second');
    const domain = `shop.${first}.example`;
    await h.createTenant(first, { domains: [domain] });
    await ready(first);
    await h.createTenant(second, { domains: [domain, `own.${second}.example`] });
    await expect
      .poll(async () => (await h.condition(second, 'RoutesReady'))?.reason, SLOW)
      .toBe('DomainConflict');
    const conflict = await h.condition(second, 'RoutesReady');
    expect(conflict?.message).toContain(`${domain} is already claimed by tenant ${first}`);
    expect((await h.getTenant(second))?.status?.hosts).toEqual([
      `${second}.${h.baseDomain}`,
      `own.${second}.example`,
    ]);
    expect((await h.getTenant(first))?.status?.hosts).toContain(domain);
  });
});

describe('plans', { timeout: TEST_TIMEOUT }, () => {
  test('changing a plan re-reconciles its tenants; a partition decrease is refused with a reason', async () => {
    const plan = `p-${h.shard}`.slice(0, 40);
    await createPlan(plan, basePlan);
    const name = h.tenantName('planned');
    await h.createTenant(name, { plan });
    await ready(name);
    await patchPlan(plan, { kafka: { partitions: 4, retentionHours: 48 } });
    await expect
      .poll(
        async () =>
          (await h.getTenant(name))?.status?.conditions?.find((c) => c.type === 'TopicsReady')?.message,
        SLOW,
      )
      .toContain(plan);
    // The new partition count is applied (observed through a reconcile message-independent check).
    const { Kafka, logLevel } = await import('kafkajs');
    const admin = new Kafka({
      clientId: 'plan-test',
      brokers: endpoints.kafka.brokers,
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    const partitions = async () =>
      (await admin.fetchTopicMetadata({ topics: [`tenantry.${name}.events`] })).topics[0]?.partitions.length;
    await expect.poll(partitions, SLOW).toBe(4);
    await patchPlan(plan, { kafka: { partitions: 1, retentionHours: 48 } });
    await expect
      .poll(async () => (await h.condition(name, 'TopicsReady'))?.reason, SLOW)
      .toBe('PartitionDecreaseRefused');
    expect(await partitions()).toBe(4);
    await admin.disconnect();
  });
});

describe('scale', { timeout: TEST_TIMEOUT }, () => {
  test('20 tenants applied at once all become Ready', async () => {
    const names = Array.from({ length: 20 }, () => h.tenantName('many'));
    await Promise.all(names.map((name) => h.createTenant(name, {})));
    for (const name of names) await ready(name);
    const sql = postgres(endpoints.postgres.url, { max: 1, onnotice: () => {} });
    const rows = await sql`select datname from pg_database where datname = any(${names.map(databaseName)})`;
    await sql.end();
    expect(rows).toHaveLength(20);
  });
});

describe('crash', { timeout: TEST_TIMEOUT }, () => {
  const mainScript = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');
  let childErrors = '';

  async function operatorProcess(kubeconfig: string): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', mainScript], {
      env: {
        PATH: process.env.PATH,
        KUBECONFIG: kubeconfig,
        POSTGRES_ADMIN_URL: endpoints.postgres.url,
        KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
        PLATFORM_NAMESPACE: h.namespace,
        TENANTRY_BASE_DOMAIN: h.baseDomain,
        OPERATOR_TENANT_SELECTOR: `${SHARD_LABEL}=crash-${h.shard}`.slice(0, 63),
        OPERATOR_LEADER_ELECTION: 'false',
        OPERATOR_METRICS_PORT: '0',
        OPERATOR_PROBES_PORT: '0',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      childErrors += chunk.toString();
    });
    return child;
  }

  test('an operator killed mid-reconcile and restarted converges with nothing duplicated', async () => {
    // A second operator process, on a shard of its own, authenticated as the same service account.
    const kubeconfigFile = join(stateBase, 'operator-kubeconfig');
    writeFileSync(kubeconfigFile, h.operatorKc.exportConfig());
    const custom = h.admin.makeApiClient(CustomObjectsApi);
    const shardValue = `crash-${h.shard}`.slice(0, 63);
    const names = Array.from({ length: 5 }, () => h.tenantName('crash'));
    for (const name of names) {
      await custom.createClusterCustomObject({
        group: TENANT_GROUP,
        version: TENANT_VERSION,
        plural: 'tenants',
        body: {
          apiVersion: `${TENANT_GROUP}/${TENANT_VERSION}`,
          kind: 'Tenant',
          metadata: { name, labels: { [SHARD_LABEL]: shardValue } },
          spec: { displayName: name, plan: 'pro', database: { reclaimPolicy: 'Delete' } },
        },
      });
    }
    const first = await operatorProcess(kubeconfigFile);
    let second: ChildProcess | undefined;
    try {
      // Kill it as soon as some tenant has its database but not yet everything.
      await expect
        .poll(async () => {
          for (const name of names) {
            const t = await custom.getClusterCustomObject({
              group: TENANT_GROUP,
              version: TENANT_VERSION,
              plural: 'tenants',
              name,
            });
            const conditions = (t as { status?: { conditions?: { type: string; status: string }[] } }).status
              ?.conditions;
            if (conditions?.some((c) => c.type === 'DatabaseReady' && c.status === 'True')) return true;
          }
          return false;
        }, SLOW)
        .toBe(true);
      first.kill('SIGKILL');
      const passwordsBefore = await secretPasswords(names);

      second = await operatorProcess(kubeconfigFile);
      for (const name of names) await ready(name);
      const after = await secretPasswords(names);
      for (const [name, password] of Object.entries(passwordsBefore)) expect(after[name]).toBe(password);
      const sql = postgres(endpoints.postgres.url, { max: 1, onnotice: () => {} });
      const dbs = await sql`select datname from pg_database where datname = any(${names.map(databaseName)})`;
      await sql.end();
      expect(dbs).toHaveLength(names.length);
      for (const name of names) {
        await custom.deleteClusterCustomObject({
          group: TENANT_GROUP,
          version: TENANT_VERSION,
          plural: 'tenants',
          name,
        });
      }
      for (const name of names) await expect.poll(() => h.getTenant(name), SLOW).toBeUndefined();
    } catch (error) {
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}\noperator stderr:\n${childErrors.slice(-2000)}`,
      );
    } finally {
      first.kill('SIGKILL');
      second?.kill('SIGTERM');
      // Without its operator, a tenant would keep its finalizer forever.
      for (const name of names) {
        await custom
          .patchClusterCustomObject(
            {
              group: TENANT_GROUP,
              version: TENANT_VERSION,
              plural: 'tenants',
              name,
              body: { metadata: { finalizers: [] } },
            },
            mergePatch,
          )
          .catch(() => {});
        await custom
          .deleteClusterCustomObject({
            group: TENANT_GROUP,
            version: TENANT_VERSION,
            plural: 'tenants',
            name,
          })
          .catch(() => {});
      }
    }
  });

  async function secretPasswords(names: string[]): Promise<Record<string, string>> {
    const core = h.admin.makeApiClient(CoreV1Api);
    const result: Record<string, string> = {};
    for (const name of names) {
      try {
        const secret = await core.readNamespacedSecret({ name: appSecretName(name), namespace: h.namespace });
        result[name] = Buffer.from(secret.data?.password ?? '', 'base64').toString('utf8');
      } catch {
        // not written yet at the time of the kill
      }
    }
    return result;
  }
});
