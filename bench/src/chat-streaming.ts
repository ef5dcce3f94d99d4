/**
 * Chat streaming overhead (issue #16): the same streamed completion, side by side in one run,
 * - `direct`: straight to the provider fake's OpenAI endpoint (`/openai/v1/chat/completions`, SSE);
 * - `chat`: `POST /api/chat {stream: true}` of the chat service (its own process), which verifies the
 *   token, reserves the tokens in the tenant's database, streams from the fake through the `openai`
 *   SDK, re-emits each delta as SSE, then records the message, settles the quota and appends the event;
 * - `gateway`: the same through the gateway (its own process: tenant by Host, plan rate limit, JWT
 *   check, proxy) in front of chat. Measured only when the gateway routes /api/chat (CHAT_URL set).
 *
 * At each concurrency (`--concurrency 50,200`) every path opens that many streams at once, with the
 * fake pacing every reply at `--rate` tokens/s for `--tokens` tokens. Reported per path: time to first
 * token (p50/p99, from sending the request to the first text frame), the mean gap between text frames,
 * and for chat its CPU seconds per stream and resident memory per open stream (peak RSS during the
 * streams minus RSS before). Added figures are chat's (or gateway's) minus direct's of the same round.
 *
 *   node --import tsx bench/src/chat-streaming.ts [--concurrency 50,200] [--tokens 40] [--rate 50]
 *     [--profile bench|test]
 *
 * Writes bench/results/chat-streaming.{json,md}.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { createProgress, loadConfig, repoRoot, up } from '@tenantry/devstack';
import { TENANT_HEADER, TenantKeys } from '@tenantry/identity';
import { installCrds } from '@tenantry/tenant-operator';
import {
  createBenchTenant,
  createPlatformNamespaces,
  deleteBenchTenants,
  readyHost,
  until,
} from './bench-tenants.ts';
import { cpuSeconds, stopChild } from './children.ts';
import { freePort, operatorEnv, startProgram, waitForOk } from './processes.ts';
import { markdownTable, type Summary, summarize } from './stats.ts';
import { tenantServicesEnv } from './tenant-services.ts';

const { values: args } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '50,200' },
    tokens: { type: 'string', default: '40' },
    rate: { type: 'string', default: '50' },
    /** Which devstack to run on: its own (bench), or the test stack when that one is already up. */
    profile: { type: 'string', default: 'bench' },
  },
});
const CONCURRENCY = args.concurrency.split(',').map(Number);
const TOKENS = Number(args.tokens);
const RATE = Number(args.rate);
const MODEL = 'gpt-4o-mini';
const log = (line: string) => process.stderr.write(`${line}\n`);
const progress = createProgress();

interface Stream {
  ttftMs: number;
  meanGapMs: number;
  ok: boolean;
}

interface PathResult {
  path: string;
  concurrency: number;
  ttft: Summary;
  meanGapMs: number;
  failed: number;
  cpuSecondsPerStream?: number;
  rssMiBPerStream?: number;
}

const run: {
  children: ChildProcess[];
  custom?: CustomObjectsApi;
  tenant?: string;
  plan?: string;
  keys?: TenantKeys;
} = { children: [] };

/** One streamed request: times the first text frame and the gaps between text frames. */
async function oneStream(
  url: string,
  headers: Record<string, string>,
  body: unknown,
  isText: (frame: string) => boolean,
): Promise<Stream> {
  const started = performance.now();
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.status !== 200 || !response.body)
      return { ttftMs: Number.NaN, meanGapMs: Number.NaN, ok: false };
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const arrivals: number[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const now = performance.now();
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        if (isText(buffer.slice(0, end))) arrivals.push(now);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
      }
    }
    const first = arrivals[0];
    if (first === undefined) return { ttftMs: Number.NaN, meanGapMs: Number.NaN, ok: false };
    const last = arrivals.at(-1) ?? first;
    return {
      ttftMs: first - started,
      meanGapMs: arrivals.length > 1 ? (last - first) / (arrivals.length - 1) : 0,
      ok: true,
    };
  } catch {
    return { ttftMs: Number.NaN, meanGapMs: Number.NaN, ok: false };
  }
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function measurePath(
  path: string,
  concurrency: number,
  start: () => Promise<Stream>,
  chatPid: number | undefined,
): Promise<PathResult> {
  const cpuBefore = chatPid === undefined ? 0 : cpuSeconds([chatPid]);
  const rssBefore = chatPid === undefined ? 0 : rssMiB(chatPid);
  let rssPeak = rssBefore;
  const sampler =
    chatPid === undefined ? undefined : setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB(chatPid))), 20);
  const streams = await Promise.all(Array.from({ length: concurrency }, start));
  if (sampler) clearInterval(sampler);
  const ok = streams.filter((s) => s.ok);
  return {
    path,
    concurrency,
    ttft: summarize(ok.map((s) => s.ttftMs)),
    meanGapMs: ok.reduce((sum, s) => sum + s.meanGapMs, 0) / Math.max(1, ok.length),
    failed: streams.length - ok.length,
    ...(chatPid === undefined
      ? {}
      : {
          cpuSecondsPerStream: (cpuSeconds([chatPid]) - cpuBefore) / concurrency,
          rssMiBPerStream: (rssPeak - rssBefore) / concurrency,
        }),
  };
}

async function main(): Promise<void> {
  log(`Tenantry benchmark: chat streaming (direct vs chat vs gateway + chat), ${TOKENS} tokens at ${RATE}/s`);
  if (args.profile !== 'bench' && args.profile !== 'test') throw new Error('--profile must be bench or test');
  const config = loadConfig(args.profile);
  const { endpoints } = await up(config, progress);
  const kc = new KubeConfig();
  kc.loadFromFile(endpoints.kube.kubeconfig);
  await installCrds(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);
  run.custom = custom;
  const namespace = `bench-chat-${Date.now().toString(36)}`;
  const keysNamespace = await createPlatformNamespaces(kc, namespace);
  const path = config.environment.PATH ?? '';
  const plan = namespace;
  run.plan = plan;
  await custom.createClusterCustomObject({
    group: 'tenantry.dev',
    version: 'v1alpha1',
    plural: 'plans',
    body: {
      apiVersion: 'tenantry.dev/v1alpha1',
      kind: 'Plan',
      metadata: { name: plan },
      spec: {
        displayName: 'Chat benchmark',
        rateLimit: { requestsPerMinute: 1_000_000_000 },
        chat: { monthlyTokens: 1_000_000_000 },
        kafka: { partitions: 1, retentionHours: 24 },
        postgres: { connectionLimit: 40 },
      },
    },
  });
  const operator = startProgram(
    'operators/tenant-operator/src/main.ts',
    operatorEnv(endpoints, namespace, await freePort()),
    path,
  );
  run.children.push(operator);
  const tenant = `chat-${Date.now().toString(36)}`;
  run.tenant = tenant;
  const host = await progress.step(`tenant ${tenant} (operator)`, async () => {
    await createBenchTenant(custom, tenant, namespace, plan);
    return readyHost(custom, tenant, operator);
  });
  run.keys = await TenantKeys.start({ kc, namespace: keysNamespace, signing: true });
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
    7200,
  );

  const fakesPort = await freePort();
  const fakes = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'packages/provider-fakes/src/main.ts'),
      '--port',
      String(fakesPort),
      '--tokens-per-second',
      String(RATE),
    ],
    { cwd: repoRoot, env: { PATH: path }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  run.children.push(fakes);
  const fakesUrl = `http://127.0.0.1:${fakesPort}`;
  await waitForOk(`${fakesUrl}/health`, fakes);

  const chatPort = await freePort();
  const chat = startProgram(
    'services/chat/src/main.ts',
    {
      ...tenantServicesEnv(endpoints, namespace),
      PORT: String(chatPort),
      DB_MAX_CONNECTIONS_PER_TENANT: '20',
      OPENAI_BASE_URL: `${fakesUrl}/openai/v1`,
      OPENAI_API_KEY: 'sk-bench',
    },
    path,
  );
  run.children.push(chat);
  const chatUrl = `http://127.0.0.1:${chatPort}`;
  await waitForOk(`${chatUrl}/health`, chat);
  const chatHeaders = { [TENANT_HEADER]: tenant, authorization: `Bearer ${token}` };
  await until(
    'chat to serve the tenant on its plan',
    60_000,
    async () => (await fetch(`${chatUrl}/api/chat/usage`, { headers: chatHeaders })).status === 200,
  );

  const gatewayPort = await freePort();
  const gateway = startProgram(
    'services/gateway/src/main.ts',
    {
      PORT: String(gatewayPort),
      KUBECONFIG: endpoints.kube.kubeconfig,
      PLATFORM_NAMESPACE: namespace,
      CHAT_URL: chatUrl,
      LOG_LEVEL: 'error',
      NODE_ENV: 'production',
    },
    path,
  );
  run.children.push(gateway);
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  await waitForOk(`${gatewayUrl}/health`, gateway);
  const gatewayHeaders = { host, authorization: `Bearer ${token}` };
  let gatewayRoutes = false;
  try {
    await until(
      'the gateway to route /api/chat',
      30_000,
      async () => (await fetch(`${gatewayUrl}/api/chat/usage`, { headers: gatewayHeaders })).status === 200,
    );
    gatewayRoutes = true;
  } catch {
    log('the gateway does not route /api/chat (chat not built in the registry?): gateway path left out');
  }

  const prompt = `benchmark [[tokens:${TOKENS}]]`;
  const direct = () =>
    oneStream(
      `${fakesUrl}/openai/v1/chat/completions`,
      { authorization: 'Bearer sk-bench' },
      {
        model: MODEL,
        messages: [{ role: 'user', content: prompt }],
        stream: true,
        stream_options: { include_usage: true },
      },
      (frame) => frame.includes('"content"'),
    );
  const chatBody = { message: prompt, provider: 'openai', model: MODEL, maxTokens: TOKENS, stream: true };
  const viaChat = () =>
    oneStream(`${chatUrl}/api/chat`, chatHeaders, chatBody, (frame) => frame.startsWith('event: delta'));
  const viaGateway = () =>
    oneStream(`${gatewayUrl}/api/chat`, gatewayHeaders, chatBody, (frame) =>
      frame.startsWith('event: delta'),
    );

  // Warm-up: JIT, pools, the SDK's connection.
  await measurePath('warmup', 20, viaChat, undefined);
  const results: PathResult[] = [];
  for (const concurrency of CONCURRENCY) {
    for (const [name, start, pid] of [
      ['direct', direct, undefined],
      ['chat', viaChat, chat.pid],
      ...(gatewayRoutes ? [['gateway', viaGateway, chat.pid] as const] : []),
    ] as const) {
      const result = await progress.step(`${name} × ${concurrency}`, () =>
        measurePath(name, concurrency, start, pid),
      );
      results.push(result);
    }
  }
  report(results);
}

function report(results: PathResult[]): void {
  const round = (n: number | undefined, digits = 1) =>
    n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits);
  const rows = results.map((r) => {
    const base = results.find((d) => d.path === 'direct' && d.concurrency === r.concurrency);
    const added = (v: number, b: number | undefined) =>
      r.path === 'direct' || b === undefined ? '' : ` (+${round(v - b)})`;
    return [
      r.path,
      r.concurrency,
      `${round(r.ttft.p50)}${added(r.ttft.p50, base?.ttft.p50)}`,
      `${round(r.ttft.p99)}${added(r.ttft.p99, base?.ttft.p99)}`,
      `${round(r.meanGapMs, 2)}${added(r.meanGapMs, base?.meanGapMs)}`,
      r.cpuSecondsPerStream === undefined ? '' : round(r.cpuSecondsPerStream * 1000, 2),
      r.rssMiBPerStream === undefined ? '' : round(r.rssMiBPerStream * 1024, 0),
      r.failed,
    ];
  });
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
  const markdown = [
    '# Chat streaming overhead',
    '',
    `${TOKENS}-token replies paced at ${RATE} tokens/s by the provider fake (OpenAI protocol, ${MODEL}); all streams of a row opened at once. Machine: ${machine}; shared with other work, so absolute figures vary between runs.`,
    '',
    markdownTable(
      [
        'path',
        'streams',
        'TTFT p50 ms (added)',
        'TTFT p99 ms (added)',
        'mean token gap ms (added)',
        'chat CPU ms/stream',
        'chat RSS KiB/open stream',
        'failed',
      ],
      rows,
    ),
    '',
    'Quota race (200 concurrent requests, quota for 10): measured by services/chat/src/chat-service.test.ts: exactly 10 succeed, overshoot 0.',
  ].join('\n');
  const json = { tokens: TOKENS, rate: RATE, model: MODEL, machine, results };
  const dir = join(repoRoot, 'bench/results');
  writeFileSync(join(dir, 'chat-streaming.json'), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(dir, 'chat-streaming.md'), `${markdown}\n`);
  process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(`${markdown}\n`);
}

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    const [operator, ...others] = run.children;
    for (const child of others.reverse()) await stopChild(child).catch(() => {});
    await run.keys?.close().catch(() => {});
    if (run.custom && run.tenant)
      await deleteBenchTenants(run.custom, [run.tenant]).catch((e: unknown) => log(`cleanup: ${String(e)}`));
    if (operator) await stopChild(operator).catch(() => {});
    if (run.custom && run.plan) {
      await run.custom
        .deleteClusterCustomObject({
          group: 'tenantry.dev',
          version: 'v1alpha1',
          plural: 'plans',
          name: run.plan,
        })
        .catch(() => {});
    }
  })();
  return cleaning;
}

process.on('exit', () => {
  for (const child of run.children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));
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
    process.exit();
  });
