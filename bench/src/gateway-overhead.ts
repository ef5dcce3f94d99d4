/**
 * Gateway overhead (issue #5): one route, `GET /api/users/me`, called side by side in one run directly,
 * through the gateway (tenant by Host, rate limit of the tenant's plan, JWT check, proxy) and through
 * NGINX `proxy_pass` with upstream keep-alive (Debian's nginx) as the peer reference. Two scenarios,
 * which differ in the upstream behind every path:
 *
 * - `noop`: bench/src/fixtures/upstream.ts, a bare node:http server with a constant body, so that what a
 *   proxy costs is not hidden behind the service's own work. One more path, `node-proxy`
 *   (bench/src/fixtures/node-proxy.ts: node:http and an undici Pool, no checks), shows the floor of any
 *   Node.js proxy on the machine.
 * - `users`: the real users service (services/users, its own process), which verifies the token with
 *   the tenant's public key and reads the caller's profile from the tenant's PostgreSQL database. The
 *   account is signed up through the auth service (stopped before anything is measured) and reaches
 *   users over Kafka; the token carries that account's claims.
 *
 * Each scenario starts its own upstream, gateway and NGINX (stopped when it is done), warms the upstream
 * up (`--warmup-seconds` of the closed loop below, directly: it serves every path), then measures:
 * 1. Maximum throughput: autocannon, closed loop (`--connections`), `--max-seconds` per path after a
 *    `--warmup-seconds` warm-up.
 * 2. Latency at a fixed rate: half of the scenario's gateway maximum, the same rate for all its paths,
 *    open loop (bench/src/load.ts: latency counts from when a request was due, so a stall is not
 *    hidden), `--rate-seconds` per path after a warm-up at that rate.
 *
 * Every response must be 200; anything else is counted as an error and reported. Prints JSON and a
 * markdown report (a section per scenario), and writes both to bench/results/gateway-overhead.{json,md}.
 *
 *   node --import tsx bench/src/gateway-overhead.ts [--scenarios noop,users] [--connections 32]
 *     [--max-seconds 10] [--rate-seconds 15] [--warmup-seconds 3] [--rounds 2] [--nginx-workers 1]
 *     [--gateway-node-args="--cpu-prof --cpu-prof-dir=/tmp/gateway-prof"]
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { createProgress, type Endpoints, loadConfig, repoRoot, up } from '@tenantry/devstack';
import { TENANT_HEADER, TenantKeys } from '@tenantry/identity';
import { installCrds } from '@tenantry/tenant-operator';
import autocannon from 'autocannon';
import {
  createBenchTenant,
  createPlatformNamespaces,
  deleteBenchTenants,
  readyHost,
  until,
} from './bench-tenants.ts';
import { cpuSeconds, machineBusySeconds, stopChild } from './children.ts';
import { fixedRate } from './load.ts';
import { ensureNginx, type Nginx, startNginx } from './nginx.ts';
import { freePort, operatorEnv, startProgram, waitForOk } from './processes.ts';
import { markdownTable, type Summary, summarize } from './stats.ts';
import {
  signIn,
  signUp,
  startTenantService,
  tenantServicesEnv,
  waitForAuthTenant,
  waitForService,
} from './tenant-services.ts';

const SCENARIOS = ['noop', 'users'] as const;
type ScenarioName = (typeof SCENARIOS)[number];
const isScenario = (name: string): name is ScenarioName => (SCENARIOS as readonly string[]).includes(name);

const { values: args } = parseArgs({
  options: {
    /** Which scenarios to run, in this order. */
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
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
const RUN_SCENARIOS = [...new Set(args.scenarios.split(',').map((name) => name.trim()))].filter(Boolean);
const unknownScenarios = RUN_SCENARIOS.filter((name) => !isScenario(name));
if (RUN_SCENARIOS.length === 0 || unknownScenarios.length > 0) {
  process.stderr.write(
    `--scenarios: ${unknownScenarios.join(', ') || 'none given'}; known: ${SCENARIOS.join(', ')}\n`,
  );
  process.exit(2);
}
const CONNECTIONS = Number(args.connections);
const MAX_SECONDS = Number(args['max-seconds']);
const RATE_SECONDS = Number(args['rate-seconds']);
const WARMUP_SECONDS = Number(args['warmup-seconds']);
const ROUNDS = Number(args.rounds);
const NGINX_WORKERS = Number(args['nginx-workers']);
const NGINX_UPSTREAM_KEEPALIVE = 32;
/** High enough never to trigger during the run, so the rate-limit code runs but never refuses. */
const REQUESTS_PER_MINUTE = 1_000_000_000;
/**
 * The tenant database connections the plan allows: the users service's pool
 * (DB_MAX_CONNECTIONS_PER_TENANT, 10) plus auth's while the account is created, with room to spare,
 * so that a connection refused by PostgreSQL never shows up as an error of a path.
 */
const DB_CONNECTION_LIMIT = 20;
/** Outlasts any run: an expired token would turn every response into a 401. */
const TOKEN_TTL_SECONDS = 2 * 60 * 60;
const PASSWORD = 'correct horse battery staple';
const PATH = '/api/users/me';
/** The aims of issue #5. */
const AIM_ADDED_P50_MS = 1;
const AIM_THROUGHPUT_RATIO = 0.5;

const progress = createProgress();
const log = (line: string) => process.stderr.write(`${line}\n`);
type PathName = 'direct' | 'gateway' | 'nginx' | 'node-proxy';

interface Target {
  name: PathName;
  port: number;
  /** The processes serving this path (the upstream included), for their CPU use. */
  pids: number[];
}

/** What both scenarios share: the bench stack and the run's tenant, onboarded on the run's plan. */
interface Stack {
  endpoints: Endpoints;
  /** PATH of the programs the run starts. */
  path: string;
  namespace: string;
  tenant: string;
  host: string;
  keys: TenantKeys;
  nginxBinary: string;
}

/** A scenario ready to be measured. */
interface Scenario {
  name: ScenarioName;
  /** One line on what serves the route behind every path, for the report. */
  upstream: string;
  /** Every request of every path carries these. */
  headers: Record<string, string>;
  /** direct first: the others are compared with it. */
  targets: Target[];
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

interface PathResult {
  name: PathName;
  max: MaxResult;
  atRate: RateResult;
}

/** A scenario's measurements, its paths in the order of its targets. */
interface Measured {
  scenario: Scenario;
  /** The fixed rate of the latency phase: half the scenario's gateway maximum. */
  rate: number;
  paths: PathResult[];
}

/** The processes of the scenario being measured, started for it and stopped when it ends. */
interface ScenarioProcesses {
  gateway?: ChildProcess;
  nginx?: Nginx;
  nodeProxy?: ChildProcess;
  /** Only until the users scenario's account exists. */
  auth?: ChildProcess;
  /** The fixture (noop) or the users service (users). */
  upstream?: ChildProcess;
}

/** Everything the run started, stopped (in order) by cleanup(), on success, failure or a signal. */
const run: {
  custom?: CustomObjectsApi;
  operator?: ChildProcess;
  keys?: TenantKeys;
  tenant?: string;
  plan?: string;
  scenario: ScenarioProcesses;
} = { scenario: {} };

const pidOf = (child: ChildProcess | undefined) => child?.pid ?? 0;

/** Every process the run started that is running now (0 for none), for the CPU accounting. */
function ours(): number[] {
  const { gateway, nginx, nodeProxy, auth, upstream } = run.scenario;
  return [run.operator, gateway, nginx?.process, nodeProxy, auth, upstream].map(pidOf);
}

async function main() {
  log(
    `Tenantry benchmark: gateway overhead (direct vs gateway vs NGINX proxy_pass), scenarios ${RUN_SCENARIOS.join(', ')}`,
  );
  const nginxBinary = await ensureNginx(log);
  const config = loadConfig('bench');
  const { endpoints } = await up(config, progress);
  const kc = new KubeConfig();
  kc.loadFromFile(endpoints.kube.kubeconfig);
  await installCrds(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);
  run.custom = custom;
  const namespace = `bench-gw-${Date.now().toString(36)}`;
  const keysNamespace = await createPlatformNamespaces(kc, namespace);
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
        postgres: { connectionLimit: DB_CONNECTION_LIMIT },
      },
    },
  });

  // The tenant, onboarded by the real operator (its Ingress names the host and plan, its Secrets the
  // key and the database), shared by the scenarios.
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

  run.keys = await TenantKeys.start({ kc, namespace: keysNamespace, signing: true });
  const keys = run.keys;
  await until('the tenant signing key', 30_000, async () => keys.has(tenant));
  const stack: Stack = { endpoints, path, namespace, tenant, host, keys, nginxBinary };

  const results: Measured[] = [];
  for (const name of RUN_SCENARIOS.filter(isScenario)) {
    const scenario = await (name === 'noop' ? noopScenario(stack) : usersScenario(stack));
    results.push(await measure(scenario));
    await stopScenario();
  }
  report(results);
}

/** The bare upstream fixture behind the gateway, NGINX and the minimal Node.js proxy. */
async function noopScenario(stack: Stack): Promise<Scenario> {
  const upstreamPort = await freePort();
  const upstream = startProgram('bench/src/fixtures/upstream.ts', { PORT: String(upstreamPort) }, stack.path);
  run.scenario.upstream = upstream;
  await waitForOk(`http://127.0.0.1:${upstreamPort}/health`, upstream);
  // The fixture checks nothing: any token of the tenant's key will do for the gateway.
  const token = await stack.keys.sign(
    {
      sub: randomUUID(),
      tenant: stack.tenant,
      role: 'member',
      email: 'bench@example.test',
      emailVerified: true,
      sid: randomUUID(),
    },
    TOKEN_TTL_SECONDS,
  );
  const headers = { host: stack.host, authorization: `Bearer ${token}` };
  const gateway = await startGateway(stack, upstreamPort, headers);
  const nginx = await startNginxProxy(stack, upstreamPort, headers);

  const nodeProxyPort = await freePort();
  const nodeProxy = startProgram(
    'bench/src/fixtures/node-proxy.ts',
    {
      PORT: String(nodeProxyPort),
      UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}`,
      // One upstream connection per client connection: no request waits for one.
      UPSTREAM_CONNECTIONS: String(CONNECTIONS),
    },
    stack.path,
  );
  run.scenario.nodeProxy = nodeProxy;
  await untilServed('the Node.js proxy to proxy', nodeProxyPort, headers, nodeProxy);

  return {
    name: 'noop',
    upstream:
      'bench/src/fixtures/upstream.ts: a bare node:http server answering a constant JSON body, no work of its own',
    headers,
    targets: [
      { name: 'direct', port: upstreamPort, pids: [pidOf(upstream)] },
      { name: 'gateway', port: gateway.port, pids: [pidOf(gateway.process), pidOf(upstream)] },
      { name: 'nginx', port: nginx.port, pids: [pidOf(nginx.process), pidOf(upstream)] },
      { name: 'node-proxy', port: nodeProxyPort, pids: [pidOf(nodeProxy), pidOf(upstream)] },
    ],
  };
}

/** The users service behind the gateway and NGINX, for an account signed up through auth. */
async function usersScenario(stack: Stack): Promise<Scenario> {
  const { tenant } = stack;
  const env = tenantServicesEnv(stack.endpoints, stack.namespace);
  const users = await startTenantService('users', env, stack.path);
  run.scenario.upstream = users.process;
  const auth = await startTenantService('auth', env, stack.path);
  run.scenario.auth = auth.process;
  const signedIn = await progress.step('users and auth services, an account through auth', async () => {
    await waitForService(users);
    await waitForService(auth);
    await waitForAuthTenant(auth, tenant);
    // Signed up through auth: users creates the profile from auth's user.signed_up event (Kafka).
    const credentials = { email: 'bench@bench.test', password: PASSWORD };
    await signUp(auth, tenant, credentials, stack.endpoints.postgres.url);
    return signIn(auth, tenant, credentials);
  });
  // Its part is done: stopped, it takes no CPU from what is measured.
  await stopChild(auth.process);
  delete run.scenario.auth;
  // auth's access tokens last an hour at most (ACCESS_TOKEN_TTL_SECONDS), and a run may last longer:
  // the claims auth issued (the account's id, role and session), verified, then signed again with the
  // tenant's key for longer.
  const claims = await stack.keys.verify(tenant, signedIn.accessToken);
  const token = await stack.keys.sign(claims, TOKEN_TTL_SECONDS);
  // The tenant header is what the gateway sets from the Host; direct and NGINX pass the client's on,
  // the gateway replaces it with its own.
  const headers = { host: stack.host, [TENANT_HEADER]: tenant, authorization: `Bearer ${token}` };
  // The service's tenant database is open and the token accepted.
  await untilServed(`the users service to serve ${PATH}`, users.port, headers, users.process);
  const gateway = await startGateway(stack, users.port, headers);
  const nginx = await startNginxProxy(stack, users.port, headers);

  return {
    name: 'users',
    upstream: `services/users (one process): verifies the ES256 token with the tenant's public key and reads the caller's profile from the tenant's PostgreSQL database (pool of ${env.DB_MAX_CONNECTIONS_PER_TENANT} connections)`,
    headers,
    targets: [
      { name: 'direct', port: users.port, pids: [pidOf(users.process)] },
      { name: 'gateway', port: gateway.port, pids: [pidOf(gateway.process), pidOf(users.process)] },
      { name: 'nginx', port: nginx.port, pids: [pidOf(nginx.process), pidOf(users.process)] },
    ],
  };
}

/** One gateway process with `upstreamPort` as the users service; resolves once it routes the tenant. */
async function startGateway(stack: Stack, upstreamPort: number, headers: Record<string, string>) {
  const port = await freePort();
  const gateway = startProgram(
    'services/gateway/src/main.ts',
    {
      PORT: String(port),
      KUBECONFIG: stack.endpoints.kube.kubeconfig,
      PLATFORM_NAMESPACE: stack.namespace,
      USERS_URL: `http://127.0.0.1:${upstreamPort}`,
      LOG_LEVEL: 'error',
      NODE_ENV: 'production',
    },
    stack.path,
    args['gateway-node-args'].split(' ').filter(Boolean),
  );
  run.scenario.gateway = gateway;
  await waitForOk(`http://127.0.0.1:${port}/health`, gateway);
  // Routed, token accepted, and the plan known (not the fallback limit of 100 per minute).
  await untilServed(
    'the gateway to route the tenant on its plan',
    port,
    headers,
    gateway,
    (answer) => answer.headers['ratelimit-limit'] === String(REQUESTS_PER_MINUTE),
  );
  return { port, process: gateway };
}

async function startNginxProxy(stack: Stack, upstreamPort: number, headers: Record<string, string>) {
  const port = await freePort();
  const nginx = startNginx(stack.nginxBinary, {
    port,
    upstreamPort,
    workerProcesses: NGINX_WORKERS,
    upstreamKeepalive: NGINX_UPSTREAM_KEEPALIVE,
  });
  run.scenario.nginx = nginx;
  await untilServed('NGINX to proxy', port, headers, nginx.process);
  return { port, process: nginx.process };
}

/** Stops the scenario's processes, proxies first; each on its own, best effort. */
async function stopScenario(): Promise<void> {
  const { gateway, nginx, nodeProxy, auth, upstream } = run.scenario;
  if (gateway) await bestEffort('stopping the gateway', () => stopChild(gateway));
  if (nginx) await bestEffort('stopping NGINX', () => nginx.stop());
  if (nodeProxy) await bestEffort('stopping the Node.js proxy', () => stopChild(nodeProxy));
  if (auth) await bestEffort('stopping the auth service', () => stopChild(auth));
  if (upstream) await bestEffort('stopping the upstream', () => stopChild(upstream));
  run.scenario = {};
}

type Answer = { status: number; headers: Record<string, unknown> };

/** One GET of the route, with its status and headers (sanity checks before the load). */
function probe(port: number, headers: Record<string, string>) {
  return new Promise<Answer>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: PATH, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Until the route answers 200 on `port` (and `accept` agrees); fails at once when `child` exited. */
function untilServed(
  what: string,
  port: number,
  headers: Record<string, string>,
  child: ChildProcess,
  accept: (answer: Answer) => boolean = () => true,
): Promise<void> {
  return until(what, 60_000, async () => {
    if (child.exitCode !== null) throw new Error(`${what}: the process exited with ${child.exitCode}`);
    const answer = await probe(port, headers);
    return answer.status === 200 && accept(answer);
  });
}

/** Both phases on every path of the scenario. */
async function measure(scenario: Scenario): Promise<Measured> {
  const { headers, targets } = scenario;
  for (const target of targets) {
    const answer = await probe(target.port, headers);
    if (answer.status !== 200)
      throw new Error(`${scenario.name}/${target.name}: ${PATH} answered ${answer.status}`);
  }
  // The upstream serves every path: warmed up (its JIT; for the users service also its database pool
  // and PostgreSQL's caches) before any path is measured, else the first path measured (direct) alone
  // would pay for it.
  const direct = targets.find((target) => target.name === 'direct');
  if (direct) {
    await progress.step(`${scenario.name}: warming the upstream up (${WARMUP_SECONDS} s)`, () =>
      saturate(direct, headers, WARMUP_SECONDS),
    );
  }
  const maxRounds = await inRounds(
    scenario,
    MAX_SECONDS,
    `maximum throughput (${CONNECTIONS} connections)`,
    (target, seconds, warmUp) => maxThroughput(target, headers, seconds, warmUp),
    (result) => `${(result.requests2xx / result.durationSeconds).toFixed(0)} req/s`,
  );
  const rate = Math.floor(aggregateMax(maxRounds.get('gateway') ?? []).requestsPerSecond / 2);
  const rateRounds = await inRounds(
    scenario,
    RATE_SECONDS,
    `${rate} req/s`,
    (target, seconds, warmUp) => latencyAtRate(target, headers, rate, seconds, warmUp),
    (result) => {
      const s = summarize(result.latencies);
      return `p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms`;
    },
  );
  return {
    scenario,
    rate,
    paths: targets.map(({ name }) => ({
      name,
      max: aggregateMax(maxRounds.get(name) ?? []),
      atRate: aggregateRate(rateRounds.get(name) ?? [], rate),
    })),
  };
}

/**
 * `totalSeconds` of `measureOne` on each path, in ROUNDS rounds that alternate the paths; the first
 * round of each path warms it up first. Returns each path's rounds in order.
 */
async function inRounds<R>(
  scenario: Scenario,
  totalSeconds: number,
  what: string,
  measureOne: (target: Target, seconds: number, warmUp: boolean) => Promise<R>,
  summary: (result: R) => string,
): Promise<Map<PathName, R[]>> {
  const seconds = totalSeconds / ROUNDS;
  const rounds = new Map<PathName, R[]>(scenario.targets.map((target) => [target.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of scenario.targets) {
      const label = `${scenario.name}/${target.name}`;
      const result = await progress.step(
        `${label}: ${what}, ${seconds} s, round ${round + 1}/${ROUNDS}`,
        () => measureOne(target, seconds, round === 0),
      );
      rounds.get(target.name)?.push(result);
      log(`  ${label}: ${summary(result)}`);
    }
  }
  return rounds;
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
function cpuMeter(target: Target) {
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

/** autocannon's closed loop on the path: CONNECTIONS connections, each sending its next request on an answer. */
function saturate(target: Target, headers: Record<string, string>, seconds: number) {
  return autocannon({
    url: `http://127.0.0.1:${target.port}${PATH}`,
    connections: CONNECTIONS,
    headers,
    duration: seconds,
  });
}

async function maxThroughput(
  target: Target,
  headers: Record<string, string>,
  seconds: number,
  warmUp: boolean,
): Promise<MaxRound> {
  if (warmUp) await saturate(target, headers, WARMUP_SECONDS);
  const meter = cpuMeter(target);
  const result = await saturate(target, headers, seconds);
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
    const meter = cpuMeter(target);
    const result = await fixedRate(rate, seconds * 1000, get);
    return { ...result, cpu: meter() };
  } finally {
    agent.destroy();
  }
}

/** The path of that name; every scenario has a direct and a gateway path. */
function pathOf(measured: Measured, name: PathName): PathResult {
  const found = measured.paths.find((p) => p.name === name);
  if (!found) throw new Error(`scenario ${measured.scenario.name} has no ${name} path`);
  return found;
}

/** Each path against direct: latency added at the fixed rate, and the share of direct's throughput kept. */
function comparison(measured: Measured) {
  const direct = pathOf(measured, 'direct');
  const added = (path: PathResult) => ({
    p50: path.atRate.latencyMs.p50 - direct.atRate.latencyMs.p50,
    p99: path.atRate.latencyMs.p99 - direct.atRate.latencyMs.p99,
  });
  const ratio = (path: PathResult) => path.max.requestsPerSecond / direct.max.requestsPerSecond;
  const gateway = pathOf(measured, 'gateway');
  const aims = {
    addedP50AtHalfMaxMs: {
      aim: AIM_ADDED_P50_MS,
      measured: added(gateway).p50,
      met: added(gateway).p50 <= AIM_ADDED_P50_MS,
    },
    throughputVsDirect: {
      aim: AIM_THROUGHPUT_RATIO,
      measured: ratio(gateway),
      met: ratio(gateway) >= AIM_THROUGHPUT_RATIO,
    },
  };
  return { added, ratio, aims };
}

function scenarioJson(measured: Measured) {
  const { added, ratio, aims } = comparison(measured);
  return {
    upstream: measured.scenario.upstream,
    fixedRateRequestsPerSecond: measured.rate,
    paths: Object.fromEntries(
      measured.paths.map((path) => [
        path.name,
        {
          max: path.max,
          atRate: path.atRate,
          ...(path.name === 'direct' ? {} : { addedMs: added(path), throughputVsDirect: ratio(path) }),
        },
      ]),
    ),
    aims,
  };
}

const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;
const percent = (ratio: number) => `${(ratio * 100).toFixed(0)}%`;

function scenarioMarkdown(measured: Measured): string {
  const { scenario, rate, paths } = measured;
  const { added, ratio, aims } = comparison(measured);
  const ms = (value: number) => value.toFixed(2);
  const serverCores = (cpu: Cpu) => cpu.serverCores.toFixed(2);
  const rows = paths.map((path) => {
    const { max: m, atRate: r } = path;
    const isDirect = path.name === 'direct';
    const bad = m.non2xx + m.errors + r.errors;
    return [
      path.name,
      m.requestsPerSecond.toFixed(0),
      isDirect ? '1.00' : ratio(path).toFixed(2),
      ms(r.latencyMs.p50),
      ms(r.latencyMs.p99),
      isDirect ? '' : signed(added(path).p50),
      isDirect ? '' : signed(added(path).p99),
      `${serverCores(m.cpu)} / ${serverCores(r.cpu)}`,
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
  const perRound = paths
    .map((path) => `${path.name} ${path.max.roundsRequestsPerSecond.map((r) => r.toFixed(0)).join('/')}`)
    .join(', ');
  const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
  const nodeProxy = paths.find((path) => path.name === 'node-proxy');
  const lines = [
    `- Aim: the gateway adds ≤ ${AIM_ADDED_P50_MS} ms at p50 at half its maximum rate: ${verdict(aims.addedP50AtHalfMaxMs.met)} (${signed(aims.addedP50AtHalfMaxMs.measured)} ms).`,
    `- Aim: the gateway keeps ≥ ${percent(AIM_THROUGHPUT_RATIO)} of the direct throughput: ${verdict(aims.throughputVsDirect.met)} (${percent(aims.throughputVsDirect.measured)}).`,
    ...(nodeProxy
      ? [
          `- The minimal Node.js proxy (node:http and an undici Pool, no checks) keeps ${percent(ratio(nodeProxy))} of the direct throughput: the floor of a Node.js proxy here.`,
        ]
      : []),
  ];
  return `### ${scenario.name}: ${scenario.upstream}

Latency at ${rate} req/s, half of this scenario's gateway maximum. Per-round max req/s: ${perRound}.

${table}

${lines.join('\n')}
`;
}

function report(results: Measured[]) {
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
    // The rate is each scenario's own: scenarios.<name>.fixedRateRequestsPerSecond.
    fixedRate: {
      seconds: RATE_SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      tool: 'bench/src/load.ts fixedRate (open loop), node:http keep-alive',
    },
    nginx: { workerProcesses: NGINX_WORKERS, upstreamKeepalive: NGINX_UPSTREAM_KEEPALIVE },
    nodeProxy: { processes: 1, upstreamConnections: CONNECTIONS },
    gateway: { processes: 1, requestsPerMinute: REQUESTS_PER_MINUTE },
    scenarios: Object.fromEntries(
      results.map((measured) => [measured.scenario.name, scenarioJson(measured)]),
    ),
  };

  const markdown = `## Gateway overhead (direct vs gateway vs NGINX proxy_pass)

\`GET ${PATH}\`, each scenario with one upstream behind all its paths. Gateway: one process, tenant by Host, plan rate limit (never reached), ES256 JWT check, proxy. NGINX: Debian's package, worker_processes ${NGINX_WORKERS}, upstream keepalive ${NGINX_UPSTREAM_KEEPALIVE}, no JWT check. Every request carries the tenant's Host and one access token of the tenant's key (the gateway and the users service verify it once a minute and find it in their cache otherwise); in the users scenario also the tenant header, which the gateway replaces with its own. Maximum throughput: autocannon closed loop, ${CONNECTIONS} connections, ${MAX_SECONDS} s per path after ${WARMUP_SECONDS} s warm-up (and ${WARMUP_SECONDS} s on the upstream directly before the first path, as it serves them all). Latency: open loop at half the scenario's gateway maximum for all its paths, ${RATE_SECONDS} s per path, counted from when each request was due. Each phase runs in ${ROUNDS} rounds alternating the paths. Machine: ${cpus().length} cores, load generator on the same cores. "server CPU" is the path's processes (proxy and upstream); "others" is CPU used meanwhile by processes outside the benchmark: the bench stack (PostgreSQL, serving the users service's queries in the users scenario, Kafka, the kube-apiserver) and anything else running.

${results.map(scenarioMarkdown).join('\n')}`;
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n\n${markdown}`);
  writeFileSync(
    join(repoRoot, 'bench', 'results', 'gateway-overhead.json'),
    `${JSON.stringify(result, null, 2)}\n`,
  );
  writeFileSync(join(repoRoot, 'bench', 'results', 'gateway-overhead.md'), markdown);
  log('wrote bench/results/gateway-overhead.{json,md}');
}

/** Runs `work`, logging rather than throwing its failure: cleanup goes on with the next step. */
async function bestEffort(what: string, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    log(`cleanup: ${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

let cleaning: Promise<void> | undefined;

/** Stops what the run started and deletes its tenant and plan; each step on its own, best effort. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    const { custom, tenant, plan } = run;
    // Before the tenant is deleted: the users service holds connections to the tenant's database.
    await stopScenario();
    if (run.keys) await bestEffort('closing the signing-key watch', () => (run.keys as TenantKeys).close());
    // Before the operator stops: its finalizer does the deleting.
    if (custom && tenant)
      await bestEffort(`deleting tenant ${tenant}`, () => deleteBenchTenants(custom, [tenant]));
    if (run.operator)
      await bestEffort('stopping the operator', () => stopChild(run.operator as ChildProcess));
    if (custom && plan) {
      await bestEffort(`deleting plan ${plan}`, () =>
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
  const { gateway, nginx, nodeProxy, auth, upstream } = run.scenario;
  for (const child of [gateway, nginx?.process, nodeProxy, auth, upstream, run.operator]) {
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
