import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { withContext } from '../errors.ts';
import { runCommand, runningPid, startProcess, stopProcess, waitUntil } from '../processes.ts';
import { versions } from '../versions.ts';
import type { ComponentContext, LocalComponent } from './component.ts';
import { ensureGo, goBuildEnv, installBinary } from './go.ts';

/**
 * stripe-mock, Stripe's own mock of its API: it routes and validates requests (authentication,
 * parameters) against Stripe's OpenAPI spec and answers with the spec's fixtures. It keeps no state: an
 * object it "created" cannot be retrieved with the values sent. Built once from the Go module proxy and
 * cached by version; plain HTTP on loopback (the SDKs take a protocol, so TLS would add nothing).
 */
const PROCESS = 'stripe-mock';
const MODULE = 'github.com/stripe/stripe-mock';

/**
 * stripe-mock accepts any key shaped `sk_test_<one word>` (it splits on `_` and wants three parts), so
 * this one is the stack's; it is not a secret.
 */
export const STRIPE_TEST_KEY = 'sk_test_devstack';

function installDir(cacheDir: string): string {
  return join(cacheDir, `stripe-mock-${versions.stripeMock}`);
}

export function stripeMockBin(cacheDir: string): string {
  return join(installDir(cacheDir), 'bin', 'stripe-mock');
}

export function stripeMockUrl(ctx: ComponentContext): string {
  return `http://127.0.0.1:${ctx.state.ports.stripeMock}`;
}

/** Ready means an authenticated API call is answered as Stripe would, not merely that the port is open. */
async function answersApiCalls(ctx: ComponentContext): Promise<boolean> {
  const response = await fetch(`${stripeMockUrl(ctx)}/v1/customers?limit=1`, {
    headers: { authorization: `Bearer ${STRIPE_TEST_KEY}` },
    signal: AbortSignal.timeout(2000),
  });
  if (!response.ok) return false;
  return ((await response.json()) as { object?: string }).object === 'list';
}

export const stripeMockComponent: LocalComponent = {
  name: 'stripe-mock',
  ports: ['stripeMock'],
  processes: [PROCESS],

  async provision(ctx) {
    const { cacheDir, environment } = ctx.config;
    if (existsSync(stripeMockBin(cacheDir))) return;
    await ensureGo('stripe-mock is built from the Go module proxy', '1.22');
    const version = versions.stripeMock;
    await ctx.progress.step(`building stripe-mock ${version} from the Go module proxy`, () =>
      withContext(`building stripe-mock ${version}`, () =>
        installBinary(installDir(cacheDir), 'stripe-mock', async (scratch) => {
          await runCommand(
            'go',
            ['install', '-trimpath', '-ldflags', `-s -w -X main.version=${version}`, `${MODULE}@${version}`],
            { env: { ...goBuildEnv(environment), GOBIN: scratch } },
          );
          return join(scratch, 'stripe-mock');
        }),
      ),
    );
  },

  async healthy(ctx) {
    return (
      runningPid(ctx.config.stateDir, PROCESS) !== undefined &&
      (await answersApiCalls(ctx).catch(() => false))
    );
  },

  async start(ctx) {
    const { stateDir, cacheDir } = ctx.config;
    if (await this.healthy(ctx)) return;
    await stopProcess(stateDir, PROCESS);
    const pid = startProcess(stateDir, {
      name: PROCESS,
      command: stripeMockBin(cacheDir),
      args: [
        '-http-addr',
        `127.0.0.1:${ctx.state.ports.stripeMock}`,
        // Given only -http-addr, stripe-mock still opens its default HTTPS listener on :12112 (or
        // $PORT) on every interface, where a second stack would collide: park it on a loopback port the
        // system picks and nobody uses.
        '-https-addr',
        '127.0.0.1:0',
      ],
    });
    await waitUntil(() => answersApiCalls(ctx), {
      what: 'stripe-mock',
      timeoutMs: 30_000,
      pid,
      stateDir,
      name: PROCESS,
    });
  },

  async stop(ctx) {
    await stopProcess(ctx.config.stateDir, PROCESS);
  },
};
