/**
 * Gateway overhead (issue #5): the same upstream route called three ways side by side in one run:
 * directly, through the gateway (tenant by Host, rate limit of the tenant's plan, JWT check, proxy)
 * and through NGINX `proxy_pass` with upstream keep-alive (Debian's nginx) as the peer reference.
 *
 * 1. Maximum throughput: autocannon, closed loop (`--connections`), `--max-seconds` per path after a
 *    `--warmup-seconds` warm-up.
 * 2. Latency at a fixed rate: half of the gateway's maximum, the same rate for all three paths, open
 *    loop (bench/src/load.ts: latency counts from when a request was due, so a stall is not hidden),
 *    `--rate-seconds` per path after a warm-up at that rate.
 *
 * Every response must be 200; anything else is counted as an error and reported. Prints JSON and a
 * markdown table, and writes both to bench/results/gateway-overhead.{json,md}.
 *
 *   node --import tsx bench/src/gateway-overhead.ts [--connections 32] [--max-seconds 10]
 *     [--rate-seconds 15] [--warmup-seconds 3] [--nginx-workers 1]
 *     [--gateway-node-args="--cpu-prof --cpu-prof-dir=/tmp/gateway-prof"]
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { createProgress, loadConfig, repoRoot, up } from '@tenantry/devstack';
import { TenantKeys } from '@tenantry/identity';
import { installCrds } from '@tenantry/tenant-operator';
import autocannon from 'autocannon';
import { createBenchTenant, deleteBenchTenants, readyHost, until } from './bench-tenants.ts';
import { cpuSeconds, machineBusySeconds, stopChild } from './children.ts';
import { fixedRate } from './load.ts';
import { ensureNginx, type Nginx, startNginx } from './nginx.ts';
import { freePort, operatorEnv, startProgram, waitForOk } from './processes.ts';
import { markdownTable, type Summary, summarize } from './stats.ts';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '32' },
    'max-seconds': { type: 'string', default: '10' },
    'rate-seconds': { type: 'string', default: '15' },
    'warmup-seconds': { type: 'string', default: '3' },
    /** Each phase's seconds are split into rounds that alternate the paths, so a passing disturbance is shared. */
    rounds: { type: 'string', default: '2' },
    'nginx-workers': { type: 'string', default: '1' },
    /** Node flags for the gateway process only, space-separated, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p". */
    'gateway-node-args': { type: 'string', default: '' },
  },
});
const CONNECTIONS = Number(args.connections);
const MAX_SECONDS = Number(args['max-seconds']);
const RATE_SECONDS = Number(args['rate-seconds']);
const WARMUP_SECONDS = Number(args['warmup-seconds']);
const ROUNDS = Number(args.rounds);
const NGINX_WORKERS = Number(args['nginx-workers']);
/** High enough never to trigger during the run, so the rate-limit code runs but never refuses. */
const REQUESTS_PER_MINUTE = 1_000_000_000;
const PATH = '/api/users/me';
/** The aims of issue #5. */
const AIM_ADDED_P50_MS = 1;
const AIM_THROUGHPUT_RATIO = 0.5;

const progress = createProgress();
const log = (line: string) => process.stderr.write(`${line}\n`);
const PATHS = ['direct', 'gateway', 'nginx'] as const;
type PathName = (typeof PATHS)[number];

interface Target {
  name: PathName;
  port: number;
  /** The processes serving this path (the upstream included), for their CPU use. */
  pids: number[];
}

interface Cpu {
  /** Cores the path's processes used on average (1 = one core busy). */
  serverCores: number;
  /** Cores the benchmark process (the load generator) used. */
  loadGeneratorCores: number;
  /** Cores used by everything else on the machine (other tests, the bench stack, the operator). */
  otherCores: number;
}

/** CPU seconds over a measured stretch, summed over rounds before being turned into cores. */
interface CpuSeconds {
  server: number;
  loadGenerator: number;
  other: number;
  elapsed: number;
}

interface MaxRound {
  requests2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationSeconds: number;
  latencyMs: { p50: number; p99: number; max: number };
  cpu: CpuSeconds;
}

interface RateRound {
  latencies: number[];
  errors: number;
  firstError?: string;
  elapsedMs: number;
  cpu: CpuSeconds;
}

interface MaxResult {
  requestsPerSecond: number;
  /** Each round's, in order (the spread shows how steady the machine was). */
  roundsRequestsPerSecond: number[];
  requests2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationSeconds: number;
  /** autocannon's latencies under saturation per round, whole milliseconds (its histogram's resolution). */
  roundsLatencyMs: { p50: number; p99: number; max: number }[];
  cpu: Cpu;
}

interface RateResult {
  targetRate: number;
  achievedRate: number;
  latencyMs: Summary;
  errors: number;
  firstError?: string;
  cpu: Cpu;
}

/** Everything the run started, stopped (in order) by cleanup(), on success, failure or a signal. */
const run: {
  custom?: CustomObjectsApi;
  upstream?: ChildProcess;
  operator?: ChildProcess;
  gateway?: ChildProcess;
  nginx?: Nginx;
  keys?: TenantKeys;
  tenant?: string;
  plan?: string;
} = {};

async function main() {
  log('Tenantry benchmark: gateway overhead (direct vs gateway vs NGINX proxy_pass)');
  const nginxBinary = await ensureNginx(log);
  const config = loadConfig('bench');
  const { endpoints } = await up(config, progress);
  const kc = new KubeConfig();
  kc.loadFromFile(endpoints.kube.kubeconfig);
  await installCrds(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);
  run.custom = custom;
  const namespace = `bench-gw-${Date.now().toString(36)}`;
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  const path = config.environment.PATH ?? '';

  // A plan of its own for the run, so the gateway's rate-limit code runs but never refuses.
  const plan = namespace;
  run.plan = plan;
  await custom.createClusterCustomObject({
    group: 'tenantry.dev',
    version: 'v1alpha1',
    plural: 'plans',
    body: {
      apiVersion: 'tenantry.dev/v1alpha1',
      kind: 'Plan',
      metadata: { name: run.plan },
      spec: {
        displayName: 'Gateway benchmark',
        rateLimit: { requestsPerMinute: REQUESTS_PER_MINUTE },
        chat: { monthlyTokens: 100000 },
        kafka: { partitions: 1, retentionHours: 24 },
        postgres: { connectionLimit: 10 },
      },
    },
  });

  const upstreamPort = await freePort();
  run.upstream = startProgram('bench/src/fixtures/upstream.ts', { PORT: String(upstreamPort) }, path);
  await waitForOk(`http://127.0.0.1:${upstreamPort}/health`, run.upstream);

  // The tenant, onboarded by the real operator (its Ingress names the host and plan, its Secret the key).
  run.operator = startProgram(
    'operators/tenant-operator/src/main.ts',
    operatorEnv(endpoints, namespace, await freePort()),
    path,
  );
  const tenant = `gw-${Date.now().toString(36)}`;
  run.tenant = tenant;
  const host = await progress.step(`tenant ${tenant} on plan ${run.plan} (operator)`, async () => {
    await createBenchTenant(custom, tenant, namespace, plan);
    return readyHost(custom, tenant, run.operator as ChildProcess);
  });

  run.keys = await TenantKeys.start({ kc, namespace, signing: true });
  const keys = run.keys;
  await until('the tenant signing key', 30_000, async () => keys.has(tenant));
  const token = await keys.sign(
    {
      sub: randomUUID(),
      tenant,
      role: 'member',
      email: 'bench@example.test',
      emailVerified: true,
      sid: randomUUID(),
    },
    2 * 60 * 60,
  );
  const headers = { host, authorization: `Bearer ${token}` };

  const gatewayPort = await freePort();
  run.gateway = startProgram(
    'services/gateway/src/main.ts',
    {
      PORT: String(gatewayPort),
      KUBECONFIG: endpoints.kube.kubeconfig,
      PLATFORM_NAMESPACE: namespace,
      USERS_URL: `http://127.0.0.1:${upstreamPort}`,
      LOG_LEVEL: 'error',
      NODE_ENV: 'production',
    },
    path,
    args['gateway-node-args'].split(' ').filter(Boolean),
  );
  await waitForOk(`http://127.0.0.1:${gatewayPort}/health`, run.gateway);
  // Routed, token accepted, and the plan known (not the fallback limit of 100 per minute).
  await until('the gateway to route the tenant on its plan', 30_000, async () => {
    const answer = await probe(gatewayPort, headers);
    return answer.status === 200 && answer.headers['ratelimit-limit'] === String(REQUESTS_PER_MINUTE);
  });

  const nginxPort = await freePort();
  run.nginx = startNginx(nginxBinary, {
    port: nginxPort,
    upstreamPort,
    workerProcesses: NGINX_WORKERS,
    upstreamKeepalive: 32,
  });
  const nginxProcess = run.nginx.process;
  await until('NGINX to proxy', 10_000, async () => {
    if (nginxProcess.exitCode !== null) throw new Error(`nginx exited with ${nginxProcess.exitCode}`);
    return (await probe(nginxPort, headers).catch(() => ({ status: 0 }))).status === 200;
  });
  const direct = await probe(upstreamPort, headers);
  if (direct.status !== 200) throw new Error(`the upstream answered ${direct.status}`);

  const pidOf = (child: ChildProcess | undefined) => child?.pid ?? 0;
  const targets: Target[] = [
    { name: 'direct', port: upstreamPort, pids: [pidOf(run.upstream)] },
    { name: 'gateway', port: gatewayPort, pids: [pidOf(run.gateway), pidOf(run.upstream)] },
    { name: 'nginx', port: nginxPort, pids: [pidOf(nginxProcess), pidOf(run.upstream)] },
  ];
  const ours = () => [pidOf(run.upstream), pidOf(run.operator), pidOf(run.gateway), pidOf(nginxProcess)];

  const maxRounds = { direct: [], gateway: [], nginx: [] } as Record<PathName, MaxRound[]>;
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of targets) {
      const seconds = MAX_SECONDS / ROUNDS;
      const result = await progress.step(
        `${target.name}: maximum throughput (${CONNECTIONS} connections, ${seconds} s, round ${round + 1}/${ROUNDS})`,
        () => maxThroughput(target, headers, ours, seconds, round === 0),
      );
      maxRounds[target.name].push(result);
      log(`  ${target.name}: ${(result.requests2xx / result.durationSeconds).toFixed(0)} req/s`);
    }
  }
  const max = mapPaths((path) => aggregateMax(maxRounds[path]));
  const rate = Math.floor(max.gateway.requestsPerSecond / 2);
  const rateRounds = { direct: [], gateway: [], nginx: [] } as Record<PathName, RateRound[]>;
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of targets) {
      const seconds = RATE_SECONDS / ROUNDS;
      const result = await progress.step(
        `${target.name}: ${rate} req/s for ${seconds} s, round ${round + 1}/${ROUNDS}`,
        () => latencyAtRate(target, headers, rate, ours, seconds, round === 0),
      );
      rateRounds[target.name].push(result);
      const s = summarize(result.latencies);
      log(`  ${target.name}: p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms`);
    }
  }
  const atRate = mapPaths((path) => aggregateRate(rateRounds[path], rate));

  report(max, atRate, rate);
}

/** Waits for the tenant to be Ready and returns its first host. */
/** One GET of the route, with its status and headers (sanity checks before the load). */
function probe(port: number, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: PATH, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function mapPaths<T>(value: (path: PathName) => T): Record<PathName, T> {
  return { direct: value('direct'), gateway: value('gateway'), nginx: value('nginx') };
}

function cores(rounds: CpuSeconds[]): Cpu {
  const sum = (key: keyof CpuSeconds) => rounds.reduce((total, r) => total + r[key], 0);
  const elapsed = sum('elapsed');
  return {
    serverCores: sum('server') / elapsed,
    loadGeneratorCores: sum('loadGenerator') / elapsed,
    otherCores: sum('other') / elapsed,
  };
}

function aggregateMax(rounds: MaxRound[]): MaxResult {
  const sum = (key: 'requests2xx' | 'non2xx' | 'errors' | 'timeouts' | 'durationSeconds') =>
    rounds.reduce((total, r) => total + r[key], 0);
  return {
    requestsPerSecond: sum('requests2xx') / sum('durationSeconds'),
    roundsRequestsPerSecond: rounds.map((r) => r.requests2xx / r.durationSeconds),
    requests2xx: sum('requests2xx'),
    non2xx: sum('non2xx'),
    errors: sum('errors'),
    timeouts: sum('timeouts'),
    durationSeconds: sum('durationSeconds'),
    roundsLatencyMs: rounds.map((r) => r.latencyMs),
    cpu: cores(rounds.map((r) => r.cpu)),
  };
}

function aggregateRate(rounds: RateRound[], rate: number): RateResult {
  const latencies = rounds.flatMap((r) => r.latencies);
  const errors = rounds.reduce((total, r) => total + r.errors, 0);
  const elapsedMs = rounds.reduce((total, r) => total + r.elapsedMs, 0);
  const firstError = rounds.find((r) => r.firstError)?.firstError;
  return {
    targetRate: rate,
    achievedRate: ((latencies.length + errors) * 1000) / elapsedMs,
    latencyMs: summarize(latencies),
    errors,
    ...(firstError ? { firstError } : {}),
    cpu: cores(rounds.map((r) => r.cpu)),
  };
}

/** CPU use over a measured stretch: the path's processes, the load generator, everything else. */
function cpuMeter(target: Target, ours: () => number[]) {
  const bench = process.cpuUsage();
  const server = cpuSeconds(target.pids);
  const all = cpuSeconds(ours());
  const machine = machineBusySeconds();
  const started = performance.now();
  return (): CpuSeconds => {
    const benchUsage = process.cpuUsage(bench);
    const benchSeconds = (benchUsage.user + benchUsage.system) / 1e6;
    const allDelta = cpuSeconds(ours()) - all;
    const other = machineBusySeconds() - machine - allDelta - benchSeconds;
    return {
      server: cpuSeconds(target.pids) - server,
      loadGenerator: benchSeconds,
      other: Math.max(0, other),
      elapsed: (performance.now() - started) / 1000,
    };
  };
}

async function maxThroughput(
  target: Target,
  headers: Record<string, string>,
  ours: () => number[],
  seconds: number,
  warmUp: boolean,
): Promise<MaxRound> {
  const options = {
    url: `http://127.0.0.1:${target.port}${PATH}`,
    connections: CONNECTIONS,
    headers,
  };
  if (warmUp) await autocannon({ ...options, duration: WARMUP_SECONDS });
  const meter = cpuMeter(target, ours);
  const result = await autocannon({ ...options, duration: seconds });
  const cpu = meter();
  return {
    requests2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationSeconds: result.duration,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    cpu,
  };
}

async function latencyAtRate(
  target: Target,
  headers: Record<string, string>,
  rate: number,
  ours: () => number[],
  seconds: number,
  warmUp: boolean,
): Promise<RateRound> {
  // The same keep-alive pool size as the closed loop; more in flight than that queue here, and the
  // open loop counts the wait.
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const get = () =>
    new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: target.port, path: PATH, headers, agent }, (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  try {
    // Every round: the connections are new (a fresh agent), and the rate must be reached first.
    await fixedRate(rate, (warmUp ? WARMUP_SECONDS : 1) * 1000, get);
    const meter = cpuMeter(target, ours);
    const result = await fixedRate(rate, seconds * 1000, get);
    return { ...result, cpu: meter() };
  } finally {
    agent.destroy();
  }
}

function report(max: Record<PathName, MaxResult>, atRate: Record<PathName, RateResult>, rate: number) {
  const d = atRate.direct.latencyMs;
  const added = (path: PathName) => ({
    p50: atRate[path].latencyMs.p50 - d.p50,
    p99: atRate[path].latencyMs.p99 - d.p99,
  });
  const ratio = (path: PathName) => max[path].requestsPerSecond / max.direct.requestsPerSecond;
  const gatewayAdded = added('gateway');
  const aims = {
    addedP50AtHalfMaxMs: {
      aim: AIM_ADDED_P50_MS,
      measured: gatewayAdded.p50,
      met: gatewayAdded.p50 <= AIM_ADDED_P50_MS,
    },
    throughputVsDirect: {
      aim: AIM_THROUGHPUT_RATIO,
      measured: ratio('gateway'),
      met: ratio('gateway') >= AIM_THROUGHPUT_RATIO,
    },
  };
  const result = {
    benchmark: 'gateway-overhead',
    machine: {
      cpus: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      loadavg1mAtEnd: loadavg()[0],
    },
    route: `GET ${PATH}`,
    rounds: ROUNDS,
    closedLoop: {
      connections: CONNECTIONS,
      seconds: MAX_SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      tool: 'autocannon',
    },
    fixedRate: {
      requestsPerSecond: rate,
      seconds: RATE_SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      tool: 'bench/src/load.ts fixedRate (open loop), node:http keep-alive',
    },
    nginx: { workerProcesses: NGINX_WORKERS, upstreamKeepalive: 32 },
    gateway: { processes: 1, requestsPerMinute: REQUESTS_PER_MINUTE },
    paths: Object.fromEntries(
      PATHS.map((path) => [
        path,
        {
          max: max[path],
          atRate: atRate[path],
          ...(path === 'direct' ? {} : { addedMs: added(path), throughputVsDirect: ratio(path) }),
        },
      ]),
    ),
    aims,
  };

  const ms = (value: number) => value.toFixed(2);
  const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;
  const cores = (cpu: Cpu) => cpu.serverCores.toFixed(2);
  const rows = PATHS.map((path) => {
    const m = max[path];
    const r = atRate[path];
    const bad = m.non2xx + m.errors + r.errors;
    return [
      path,
      m.requestsPerSecond.toFixed(0),
      path === 'direct' ? '1.00' : ratio(path).toFixed(2),
      ms(r.latencyMs.p50),
      ms(r.latencyMs.p99),
      path === 'direct' ? '' : signed(added(path).p50),
      path === 'direct' ? '' : signed(added(path).p99),
      `${cores(m.cpu)} / ${cores(r.cpu)}`,
      `${m.cpu.otherCores.toFixed(2)} / ${r.cpu.otherCores.toFixed(2)}`,
      bad === 0
        ? '0'
        : `${bad} (${m.non2xx} non-2xx, ${m.errors} errors, ${r.errors} at rate${r.firstError ? `: ${r.firstError}` : ''})`,
    ];
  });
  const table = markdownTable(
    [
      'path',
      `max req/s (${CONNECTIONS} conns)`,
      'vs direct',
      `p50 ms @ ${rate} req/s`,
      'p99 ms',
      'added p50 ms',
      'added p99 ms',
      'server CPU cores (max / @rate)',
      'others CPU cores (max / @rate)',
      'errors',
    ],
    rows,
  );
  const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
  const markdown = `## Gateway overhead (direct vs gateway vs NGINX proxy_pass)

\`GET ${PATH}\` on the same upstream (a bare node:http server). Gateway: one process, tenant by Host, plan rate limit (never reached), ES256 JWT check, proxy. NGINX: Debian's package, worker_processes ${NGINX_WORKERS}, upstream keepalive 32, no JWT check. Maximum throughput: autocannon closed loop, ${CONNECTIONS} connections, ${MAX_SECONDS} s per path after ${WARMUP_SECONDS} s warm-up. Latency: open loop at ${rate} req/s (half the gateway's maximum) for all three, ${RATE_SECONDS} s per path, counted from when each request was due. Each phase runs in ${ROUNDS} rounds alternating the paths (per-round max req/s: ${PATHS.map((path) => `${path} ${max[path].roundsRequestsPerSecond.map((r) => r.toFixed(0)).join('/')}`).join(', ')}). Machine: ${cpus().length} cores, load generator on the same cores; "others" is CPU used meanwhile by processes outside the benchmark.

${table}

- Aim: the gateway adds ≤ ${AIM_ADDED_P50_MS} ms at p50 at half its maximum rate: ${verdict(aims.addedP50AtHalfMaxMs.met)} (${signed(gatewayAdded.p50)} ms).
- Aim: the gateway keeps ≥ ${AIM_THROUGHPUT_RATIO * 100}% of the direct throughput: ${verdict(aims.throughputVsDirect.met)} (${(ratio('gateway') * 100).toFixed(0)}%).
`;
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n\n${markdown}`);
  writeFileSync(
    join(repoRoot, 'bench', 'results', 'gateway-overhead.json'),
    `${JSON.stringify(result, null, 2)}\n`,
  );
  writeFileSync(join(repoRoot, 'bench', 'results', 'gateway-overhead.md'), markdown);
  log('wrote bench/results/gateway-overhead.{json,md}');
}

let cleaning: Promise<void> | undefined;

/** Stops what the run started and deletes its tenant and plan; each step on its own, best effort. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    const step = async (what: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        log(`cleanup: ${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    const { custom, tenant, plan } = run;
    if (run.gateway) await step('stopping the gateway', () => stopChild(run.gateway as ChildProcess));
    if (run.nginx) await step('stopping NGINX', () => (run.nginx as Nginx).stop());
    if (run.keys) await step('closing the signing-key watch', () => (run.keys as TenantKeys).close());
    // Before the operator stops: its finalizer does the deleting.
    if (custom && tenant) await step(`deleting tenant ${tenant}`, () => deleteBenchTenants(custom, [tenant]));
    if (run.operator) await step('stopping the operator', () => stopChild(run.operator as ChildProcess));
    if (run.upstream) await step('stopping the upstream', () => stopChild(run.upstream as ChildProcess));
    if (custom && plan) {
      await step(`deleting plan ${plan}`, () =>
        custom.deleteClusterCustomObject({
          group: 'tenantry.dev',
          version: 'v1alpha1',
          plural: 'plans',
          name: plan,
        }),
      );
    }
  })();
  return cleaning;
}

// Whatever happens, no child outlives the benchmark.
process.on('exit', () => {
  for (const child of [run.gateway, run.nginx?.process, run.operator, run.upstream]) {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up (again to exit at once)`);
    process.once(signal, () => process.exit(130));
    void cleanup().finally(() => process.exit(130));
  });
}

main()
  .then(
    () => cleanup(),
    async (error: unknown) => {
      console.error(`benchmark failed: ${error instanceof Error ? error.stack : String(error)}`);
      await cleanup();
      process.exitCode = 1;
    },
  )
  .then(() => {
    log('the bench stack stays up (npm run devstack -- down --profile bench)');
    // Lingering sockets (keep-alive agents, the kube watch) must not keep the process alive.
    process.exit();
  });
