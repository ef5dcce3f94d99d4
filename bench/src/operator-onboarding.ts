/**
 * Tenant onboarding: apply N Tenants and measure apply → Ready, against a baseline that creates the
 * same database, roles, migrations, topics and Ingress directly (same building blocks, same
 * concurrency, no operator), side by side in one run. Prints JSON and a markdown table, and writes
 * both to bench/results/.
 *
 *   node --import tsx bench/src/operator-onboarding.ts [--sizes 1,20,100] [--repeat-single 5]
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CustomObjectsApi,
  KubeConfig,
  type KubernetesListObject,
  makeInformer,
  NetworkingV1Api,
} from '@kubernetes/client-node';
import {
  createProgress,
  type DevstackConfig,
  type Endpoints,
  loadConfig,
  repoRoot,
  up,
} from '@tenantry/devstack';
import type { Plan, Tenant } from '@tenantry/tenant-api';
import { databaseName, ingressName, ownerRoleName, topicNames } from '@tenantry/tenant-api';
import { applyDefaultPlans, applyManifests, installCrds } from '@tenantry/tenant-operator';
import {
  applyMigrations,
  buildIngress,
  createKafkaAdmin,
  deleteTopics,
  dropTenantDatabase,
  ensureTenantDatabase,
  generatePassword,
  reconcileTopics,
  topicPolicy,
} from '@tenantry/tenant-operator/provisioning';
import postgres from 'postgres';
import { createBenchTenant, createPlatformNamespaces, deleteBenchTenants } from './bench-tenants.ts';
import { freePort, operatorEnv, SHARD_LABEL, startProgram } from './processes.ts';
import { markdownTable, type Summary, seconds, summarize } from './stats.ts';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,20,100' },
    'repeat-single': { type: 'string', default: '5' },
  },
});
const sizes = args.sizes.split(',').map(Number);
const repeatSingle = Number(args['repeat-single']);
const CONCURRENCY = 4; // the operator's default OPERATOR_CONCURRENCY, used for the baseline too
const progress = createProgress();
const log = (line: string) => process.stderr.write(`${line}\n`);

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(match?.[1] ?? 0) / 1024);
}

/** Sum and count of the operator's per-step histogram, from its /metrics endpoint. */
async function stepTotals(port: number): Promise<Map<string, { sum: number; count: number }>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const totals = new Map<string, { sum: number; count: number }>();
  const pattern =
    /^tenantry_operator_reconcile_duration_seconds_(sum|count)\{step="([^"]+)",result="ok"\} ([\d.e+-]+)$/gm;
  for (const [, kind, step, value] of text.matchAll(pattern)) {
    const entry = totals.get(step ?? '') ?? { sum: 0, count: 0 };
    if (kind === 'sum') entry.sum = Number(value);
    else entry.count = Number(value);
    totals.set(step ?? '', entry);
  }
  return totals;
}

function stepMeansMs(
  before: Map<string, { sum: number; count: number }>,
  after: Map<string, { sum: number; count: number }>,
) {
  const means: Record<string, number> = {};
  for (const [step, a] of after) {
    const b = before.get(step) ?? { sum: 0, count: 0 };
    const count = a.count - b.count;
    if (count > 0) means[step] = ((a.sum - b.sum) / count) * 1000;
  }
  return means;
}

async function main() {
  log('Tenantry benchmark: tenant onboarding (operator vs direct script)');
  const config = loadConfig('bench');
  const { endpoints } = await up(config, progress);
  const kc = new KubeConfig();
  kc.loadFromFile(endpoints.kube.kubeconfig);
  await installCrds(kc);
  await applyDefaultPlans(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const namespace = `bench-${Date.now().toString(36)}`;
  await createPlatformNamespaces(kc, namespace);
  const plan = (await custom.getClusterCustomObject({
    group: 'tenantry.dev',
    version: 'v1alpha1',
    plural: 'plans',
    name: 'free',
  })) as Plan;

  const metricsPort = await freePort();
  const operator = startOperatorProcess(config, endpoints, namespace, metricsPort);
  await waitForMetrics(metricsPort);
  const idleRss = rssMiB(operator.pid ?? 0);
  const watcher = await readyWatcher(kc, namespace);

  const results: Record<string, unknown>[] = [];
  const rows: (string | number)[][] = [];
  let rssAt100: number | undefined;
  try {
    for (const n of sizes) {
      const runs = n === 1 ? repeatSingle : 1;
      const operatorTimes: number[] = [];
      const baselineTimes: number[] = [];
      let stepMeans: Record<string, number> = {};
      let baselineSteps: Record<string, number[]> = {};
      let operatorWall = 0;
      let baselineWall = 0;
      for (let run = 0; run < runs; run++) {
        const before = await stepTotals(metricsPort);
        const op = await progress.step(
          `operator: ${n} tenant(s)${runs > 1 ? ` (run ${run + 1}/${runs})` : ''}`,
          () => operatorRun(custom, watcher, namespace, n),
        );
        operatorTimes.push(...op.times);
        operatorWall = Math.max(operatorWall, op.wall);
        stepMeans = stepMeansMs(before, await stepTotals(metricsPort));
        if (n === 100) rssAt100 = rssMiB(operator.pid ?? 0);
        await progress.step('cleanup (operator run)', () => deleteBenchTenants(custom, op.names));

        const base = await progress.step(`baseline: ${n} tenant(s)`, () =>
          baselineRun(kc, endpoints, namespace, plan, n),
        );
        baselineTimes.push(...base.times);
        baselineWall = Math.max(baselineWall, base.wall);
        baselineSteps = base.steps;
        await progress.step('cleanup (baseline run)', () =>
          baselineCleanup(kc, endpoints, namespace, base.names),
        );
      }
      const o = summarize(operatorTimes);
      const b = summarize(baselineTimes);
      const baselineStepMeans = Object.fromEntries(
        Object.entries(baselineSteps).map(([k, v]) => [k, summarize(v).mean]),
      );
      results.push({
        tenants: n,
        runs,
        operator: o,
        baseline: b,
        ratioP50: o.p50 / b.p50,
        operatorWallMs: operatorWall,
        baselineWallMs: baselineWall,
        operatorStepMeanMs: stepMeans,
        baselineStepMeanMs: baselineStepMeans,
      });
      rows.push(row(n, runs, o, b, operatorWall, baselineWall));
      rows.push([
        '',
        '',
        `steps (mean ms): ${formatSteps(stepMeans)}`,
        formatSteps(baselineStepMeans),
        '',
        '',
        '',
      ]);
    }
  } finally {
    await watcher.stop();
    operator.kill('SIGTERM');
  }

  const report = {
    benchmark: 'operator-onboarding',
    machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    concurrency: CONCURRENCY,
    operatorRssMiB: { idle: idleRss, with100Tenants: rssAt100 },
    results,
  };
  const table = markdownTable(
    [
      'tenants',
      'runs',
      'operator apply→Ready p50 / p95 / max (s)',
      'baseline p50 / p95 / max (s)',
      'ratio p50',
      'operator all Ready (s)',
      'baseline all done (s)',
    ],
    rows,
  );
  const markdown = `## Tenant onboarding (operator vs direct script)\n\n${table}\n\nOperator RSS: ${idleRss} MiB idle, ${rssAt100 ?? 'n/a'} MiB with 100 tenants Ready. Concurrency ${CONCURRENCY} for both.\n`;
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n\n${markdown}`);
  writeFileSync(
    join(repoRoot, 'bench', 'results', 'operator-onboarding.json'),
    `${JSON.stringify(report, null, 2)}\n`,
  );
  writeFileSync(join(repoRoot, 'bench', 'results', 'operator-onboarding.md'), markdown);
  log(
    'wrote bench/results/operator-onboarding.{json,md}; the bench stack stays up (npm run devstack -- down --profile bench)',
  );
}

function row(n: number, runs: number, o: Summary, b: Summary, ow: number, bw: number) {
  const triple = (s: Summary) => `${seconds(s.p50)} / ${seconds(s.p95)} / ${seconds(s.max)}`;
  return [n, runs, triple(o), triple(b), (o.p50 / b.p50).toFixed(2), seconds(ow), seconds(bw)];
}

function formatSteps(steps: Record<string, number>): string {
  return Object.entries(steps)
    .filter(([step]) => step !== 'total')
    .map(([step, ms]) => `${step} ${ms.toFixed(0)}`)
    .join(', ');
}

function startOperatorProcess(
  config: DevstackConfig,
  endpoints: Endpoints,
  namespace: string,
  metricsPort: number,
): ChildProcess {
  return startProgram(
    'operators/tenant-operator/src/main.ts',
    operatorEnv(endpoints, namespace, metricsPort),
    config.environment.PATH ?? '',
  );
}

async function waitForMetrics(port: number) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/metrics`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the operator did not start (no /metrics after 30 s)');
}

interface Watcher {
  readyAt(name: string): Promise<number>;
  stop(): Promise<void>;
}

/** Times when each tenant was first seen Ready, from a watch (not polling), in this process's clock. */
async function readyWatcher(kc: KubeConfig, shard: string): Promise<Watcher> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const selector = `${SHARD_LABEL}=${shard}`;
  const seen = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  const informer = makeInformer<Tenant>(
    kc,
    '/apis/tenantry.dev/v1alpha1/tenants',
    () =>
      custom.listClusterCustomObject({
        group: 'tenantry.dev',
        version: 'v1alpha1',
        plural: 'tenants',
        labelSelector: selector,
      }) as Promise<KubernetesListObject<Tenant>>,
    selector,
  );
  const check = (t: Tenant) => {
    const name = t.metadata.name;
    if (seen.has(name)) return;
    if (t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) {
      const at = Date.now();
      seen.set(name, at);
      waiting.get(name)?.(at);
    }
  };
  informer.on('add', check);
  informer.on('update', check);
  await informer.start();
  return {
    readyAt: (name) => {
      const at = seen.get(name);
      return at !== undefined ? Promise.resolve(at) : new Promise((resolve) => waiting.set(name, resolve));
    },
    stop: () => informer.stop(),
  };
}

async function operatorRun(custom: CustomObjectsApi, watcher: Watcher, shard: string, n: number) {
  const names = Array.from({ length: n }, (_, i) => `op-${Date.now().toString(36)}-${i}`);
  const started = Date.now();
  const times = await Promise.all(
    names.map(async (name) => {
      const created = Date.now();
      await createBenchTenant(custom, name, shard, 'free');
      return (await watcher.readyAt(name)) - created;
    }),
  );
  return { names, times, wall: Date.now() - started };
}

/** Runs `work` over `items` with at most `limit` at once; resolves with results in order. */
async function pool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T);
      }
    }),
  );
  return results;
}

async function baselineRun(kc: KubeConfig, endpoints: Endpoints, namespace: string, plan: Plan, n: number) {
  const names = Array.from({ length: n }, (_, i) => `bl-${Date.now().toString(36)}-${i}`);
  const admin = postgres(endpoints.postgres.url, { max: CONCURRENCY, onnotice: () => {} });
  const kafka = createKafkaAdmin(endpoints.kafka.brokers, 'bench-baseline');
  const steps: Record<string, number[]> = { database: [], migrations: [], topics: [], routes: [] };
  const timed = async <T>(step: string, work: () => Promise<T>) => {
    const t = performance.now();
    const result = await work();
    steps[step]?.push(performance.now() - t);
    return result;
  };
  const started = Date.now();
  try {
    const times = await pool(names, CONCURRENCY, async (name) => {
      const passwords = { owner: generatePassword(), app: generatePassword() };
      await timed('database', () =>
        ensureTenantDatabase(admin, name, passwords, {
          connectionLimit: plan.spec.postgres.connectionLimit,
          suspended: false,
        }),
      );
      const owner = new URL(endpoints.postgres.url);
      owner.username = ownerRoleName(name);
      owner.password = passwords.owner;
      owner.pathname = `/${databaseName(name)}`;
      await timed('migrations', () => applyMigrations(owner.toString()));
      await timed('topics', () =>
        kafka.use((a) => reconcileTopics(a, topicNames(name), topicPolicy(plan.spec))),
      );
      const tenant = {
        apiVersion: 'tenantry.dev/v1alpha1',
        kind: 'Tenant',
        metadata: { name, uid: '00000000-0000-0000-0000-000000000000' },
        spec: { displayName: name, plan: 'free' },
      } as Tenant;
      const ingress = buildIngress(
        tenant,
        [`${name}.tenantry.localhost`],
        {
          platformNamespace: namespace,
          baseDomain: 'tenantry.localhost',
          gateway: { serviceName: 'tenantry-gateway', port: 4000 },
        },
        { suspended: false },
      );
      // Not owned by a real Tenant: drop the ownerReference the builder adds.
      delete ingress.metadata?.ownerReferences;
      await timed('routes', () => applyManifests(kc, [ingress as never], 'bench-baseline'));
      return Date.now() - started;
    });
    return { names, times, wall: Date.now() - started, steps };
  } finally {
    await kafka.close();
    await admin.end({ timeout: 5 });
  }
}

async function baselineCleanup(kc: KubeConfig, endpoints: Endpoints, namespace: string, names: string[]) {
  const admin = postgres(endpoints.postgres.url, { max: 2, onnotice: () => {} });
  const kafka = createKafkaAdmin(endpoints.kafka.brokers, 'bench-cleanup');
  const networking = kc.makeApiClient(NetworkingV1Api);
  try {
    for (const name of names) {
      await dropTenantDatabase(admin, name);
      await networking.deleteNamespacedIngress({ name: ingressName(name), namespace });
    }
    await kafka.use((a) => deleteTopics(a, names.flatMap(topicNames)));
  } finally {
    await kafka.close();
    await admin.end({ timeout: 5 });
  }
}

main().catch((error: unknown) => {
  console.error(`benchmark failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
