/**
 * Identity services under load, each against a baseline measured in the same run:
 * - POST /api/auth/signin (the auth service, its own process) against the bare argon2id verify at the
 *   same cost: maximum throughput, and p50/p99 at a fixed rate of half the signin maximum;
 * - GET /api/users/me (the users service) at 200 requests/s against a raw postgres.js query of the
 *   same row with the tenant's own credentials, at the same rate.
 *
 *   node --import tsx bench/src/identity.ts [--duration 15]
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { hash, verify } from '@node-rs/argon2';
import { createProgress, loadConfig, repoRoot, up } from '@tenantry/devstack';
import { TENANT_HEADER, TenantKeys } from '@tenantry/identity';
import { applyDefaultPlans, installCrds } from '@tenantry/tenant-operator';
import postgres from 'postgres';
import {
  createBenchTenant,
  createPlatformNamespaces,
  deleteBenchTenants,
  readyHost,
} from './bench-tenants.ts';
import { closedLoop, fixedRate, type LoadResult } from './load.ts';
import { freePort, operatorEnv, startProgram } from './processes.ts';
import { markdownTable, type Summary, summarize } from './stats.ts';
import {
  postJson,
  signIn,
  signUp,
  startTenantService,
  tenantServicesEnv,
  waitForAuthTenant,
  waitForService,
} from './tenant-services.ts';

const { values: args } = parseArgs({ options: { duration: { type: 'string', default: '15' } } });
const DURATION_MS = Number(args.duration) * 1000;
const ME_RATE = 200;
/** The production cost (services/auth config defaults): OWASP's argon2id minimum. */
const COST = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const SIGNIN_CONCURRENCY = 4;
const USERS = 20;
const PASSWORD = 'correct horse battery staple';
const progress = createProgress();
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Row {
  summary: Summary;
  errors: number;
  perSecond?: number;
}

function row(result: LoadResult & { perSecond?: number }): Row {
  if (result.errors > 0) log(`  ${result.errors} errors, first: ${result.firstError}`);
  return {
    summary: summarize(result.latencies),
    errors: result.errors,
    ...(result.perSecond === undefined ? {} : { perSecond: result.perSecond }),
  };
}

async function main() {
  log('Tenantry benchmark: identity (auth signin vs bare hash, users/me vs raw query)');
  const config = loadConfig('bench');
  const path = config.environment.PATH ?? '';
  const { endpoints } = await up(config, progress);
  const kc = new KubeConfig();
  kc.loadFromFile(endpoints.kube.kubeconfig);
  await installCrds(kc);
  await applyDefaultPlans(kc);
  const namespace = `bench-id-${Date.now().toString(36)}`;
  const tenant = namespace;
  const keysNamespace = await createPlatformNamespaces(kc, namespace);

  const children: ChildProcess[] = [];
  const stopAll = () => {
    for (const child of children) child.kill('SIGTERM');
  };
  process.on('exit', stopAll);
  try {
    const operatorPort = await freePort();
    const operator = startProgram(
      'operators/tenant-operator/src/main.ts',
      operatorEnv(endpoints, namespace, operatorPort),
      path,
    );
    children.push(operator);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await progress.step(`tenant ${tenant} through the operator`, async () => {
      await createBenchTenant(custom, tenant, namespace, 'enterprise');
      await readyHost(custom, tenant, operator);
    });

    const serviceEnv = tenantServicesEnv(endpoints, namespace);
    const auth = await startTenantService('auth', serviceEnv, path);
    children.push(auth.process);
    const users = await startTenantService('users', serviceEnv, path);
    children.push(users.process);
    await progress.step('auth and users services', async () => {
      await waitForService(auth);
      await waitForService(users);
      await waitForAuthTenant(auth, tenant);
    });

    const emailOf = (user: number) => `user${user}@bench.test`;
    await progress.step(`${USERS} accounts`, async () => {
      for (let user = 0; user < USERS; user++) {
        await signUp(auth, tenant, { email: emailOf(user), password: PASSWORD }, endpoints.postgres.url);
      }
    });
    let next = 0;
    const signin = () =>
      postJson(`${auth.url}/api/auth/signin`, tenant, {
        email: emailOf(next++ % USERS),
        password: PASSWORD,
      }).then((r) => r.arrayBuffer());
    const stored = await hash(PASSWORD, COST);
    const bareVerify = async () => {
      if (!(await verify(stored, PASSWORD))) throw new Error('verify failed');
    };

    // JWT signing, the other CPU cost of a signin, in this process with a key like the tenant's.
    const keys = await TenantKeys.start({ kc, namespace: keysNamespace, signing: true });
    const claims = {
      sub: '00000000-0000-4000-8000-000000000000',
      tenant,
      role: 'member' as const,
      email: 'a@b.test',
      emailVerified: true,
      sid: '00000000-0000-4000-8000-000000000001',
    };
    const signStart = performance.now();
    for (let i = 0; i < 500; i++) await keys.sign(claims);
    const jwtSignMs = (performance.now() - signStart) / 500;

    const hashMax = row(
      await progress.step('bare verify: maximum throughput', () =>
        closedLoop(SIGNIN_CONCURRENCY, DURATION_MS, bareVerify),
      ),
    );
    const signinMax = row(
      await progress.step('signin: maximum throughput', () =>
        closedLoop(SIGNIN_CONCURRENCY, DURATION_MS, signin),
      ),
    );
    const rate = Math.max(1, Math.floor((signinMax.perSecond ?? 2) / 2));
    const hashAtRate = row(
      await progress.step(`bare verify at ${rate}/s`, () => fixedRate(rate, DURATION_MS, bareVerify)),
    );
    const signinAtRate = row(
      await progress.step(`signin at ${rate}/s`, () => fixedRate(rate, DURATION_MS, signin)),
    );

    // users/me: the token of one account, and its profile row read directly as the baseline.
    const tokens = await signIn(auth, tenant, { email: emailOf(0), password: PASSWORD });
    const meHeaders = { authorization: `Bearer ${tokens.accessToken}`, [TENANT_HEADER]: tenant };
    const me = async () => {
      const r = await fetch(`${users.url}/api/users/me`, { headers: meHeaders });
      if (!r.ok) throw new Error(`users/me: ${r.status}`);
      await r.arrayBuffer();
    };
    await me(); // creates the profile if the event has not arrived yet
    const secret = await kc
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ name: `tenant-${tenant}-db`, namespace });
    const field = (key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString();
    const sql = postgres({
      host: field('host'),
      port: Number(field('port')),
      database: field('database'),
      username: field('username'),
      password: field('password'),
      max: 10,
    });
    const raw = async () => {
      await sql`select * from profiles where user_id = ${tokens.user.id}`;
    };
    await raw();
    const rawAtRate = row(
      await progress.step(`raw postgres.js at ${ME_RATE}/s`, () => fixedRate(ME_RATE, DURATION_MS, raw)),
    );
    const meAtRate = row(
      await progress.step(`GET /api/users/me at ${ME_RATE}/s`, () => fixedRate(ME_RATE, DURATION_MS, me)),
    );
    await sql.end();
    await keys.close();

    const f = (ms: number) => ms.toFixed(2);
    const report = {
      benchmark: 'identity',
      machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
      durationSeconds: DURATION_MS / 1000,
      passwordHash: {
        algorithm: 'argon2id',
        memoryKiB: COST.memoryCost,
        iterations: COST.timeCost,
        parallelism: COST.parallelism,
      },
      jwtSignMeanMs: jwtSignMs,
      signin: {
        concurrency: SIGNIN_CONCURRENCY,
        max: signinMax,
        bareVerifyMax: hashMax,
        rate,
        atRate: signinAtRate,
        bareVerifyAtRate: hashAtRate,
      },
      usersMe: { rate: ME_RATE, atRate: meAtRate, rawQueryAtRate: rawAtRate },
      ratios: {
        signinThroughputVsBareVerify: (signinMax.perSecond ?? 0) / (hashMax.perSecond ?? 1),
        signinP50VsBareVerify: signinAtRate.summary.p50 / hashAtRate.summary.p50,
        meP50VsRaw: meAtRate.summary.p50 / rawAtRate.summary.p50,
        meP99VsRaw: meAtRate.summary.p99 / rawAtRate.summary.p99,
      },
    };
    const table = markdownTable(
      ['measurement', 'system', 'baseline', 'ratio'],
      [
        [
          `max throughput (req/s, ${SIGNIN_CONCURRENCY} in flight)`,
          `signin ${f(signinMax.perSecond ?? 0)}`,
          `bare verify ${f(hashMax.perSecond ?? 0)}`,
          f(report.ratios.signinThroughputVsBareVerify),
        ],
        [
          `p50 / p99 at ${rate}/s (ms)`,
          `signin ${f(signinAtRate.summary.p50)} / ${f(signinAtRate.summary.p99)}`,
          `bare verify ${f(hashAtRate.summary.p50)} / ${f(hashAtRate.summary.p99)}`,
          f(report.ratios.signinP50VsBareVerify),
        ],
        [
          `p50 / p99 at ${ME_RATE}/s (ms)`,
          `GET /api/users/me ${f(meAtRate.summary.p50)} / ${f(meAtRate.summary.p99)}`,
          `raw postgres.js ${f(rawAtRate.summary.p50)} / ${f(rawAtRate.summary.p99)}`,
          `${f(report.ratios.meP50VsRaw)} / ${f(report.ratios.meP99VsRaw)}`,
        ],
      ],
    );
    const other = signinAtRate.summary.p50 - hashAtRate.summary.p50;
    const markdown = `## Identity: signin vs bare hash, users/me vs raw query\n\n${table}\n\nargon2id ${COST.memoryCost} KiB, ${COST.timeCost} passes, 1 lane. Beyond the hash, a signin costs about ${f(other)} ms at p50: an ES256 signature (${f(jwtSignMs)} ms measured here), a lock check, an account read and the session transaction (refresh token, last sign-in, outbox event) and HTTP. Errors: signin ${signinMax.errors + signinAtRate.errors}, users/me ${meAtRate.errors}. ${cpus().length} cores; load generator, services, PostgreSQL and Kafka share them.\n`;
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n\n${markdown}`);
    writeFileSync(
      join(repoRoot, 'bench', 'results', 'identity.json'),
      `${JSON.stringify(report, null, 2)}\n`,
    );
    writeFileSync(join(repoRoot, 'bench', 'results', 'identity.md'), markdown);

    // Before the operator stops: its finalizer drops the database, topics and Secrets.
    await deleteBenchTenants(custom, [tenant]);
    log(
      'wrote bench/results/identity.{json,md}; the bench stack stays up (npm run devstack -- down --profile bench)',
    );
  } finally {
    stopAll();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
