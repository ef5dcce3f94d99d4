import { join } from 'node:path';
import { repoRoot } from '../config.ts';
import { runningPid, startProcess, stopProcess, waitUntil } from '../processes.ts';
import type { ComponentContext, LocalComponent } from './component.ts';

/**
 * The AI providers' stand-in: packages/provider-fakes, one server that speaks the OpenAI, Anthropic
 * and Gemini wire protocols so their official SDKs work unchanged. Nothing to provision: it is the
 * workspace's own TypeScript, run through tsx like every program here.
 */
const PROCESS = 'provider-fakes';
const MAIN = join(repoRoot, 'packages', 'provider-fakes', 'src', 'main.ts');
/** What the fakes accept (any key would do); real keys switch the services to the real providers. */
export const PROVIDER_FAKES_KEY = 'fake-devstack-key';

export function providerFakesUrl(ctx: ComponentContext): string {
  return `http://127.0.0.1:${ctx.state.ports.providerFakes}`;
}

/** The base URLs the official SDKs take (the fakes serve each vendor under its own prefix). */
export function aiProviderEndpoints(ctx: ComponentContext): {
  openaiBaseUrl: string;
  anthropicBaseUrl: string;
  geminiBaseUrl: string;
  apiKey: string;
} {
  const url = providerFakesUrl(ctx);
  return {
    openaiBaseUrl: `${url}/openai/v1`,
    anthropicBaseUrl: `${url}/anthropic`,
    geminiBaseUrl: `${url}/gemini`,
    apiKey: PROVIDER_FAKES_KEY,
  };
}

async function answers(ctx: ComponentContext): Promise<boolean> {
  const response = await fetch(`${providerFakesUrl(ctx)}/health`, { signal: AbortSignal.timeout(2000) });
  return response.ok;
}

export const providerFakesComponent: LocalComponent = {
  name: 'provider-fakes',
  ports: ['providerFakes'],
  processes: [PROCESS],

  async provision() {},

  async healthy(ctx) {
    return runningPid(ctx.config.stateDir, PROCESS) !== undefined && (await answers(ctx).catch(() => false));
  },

  async start(ctx) {
    const { stateDir } = ctx.config;
    if (await this.healthy(ctx)) return;
    await stopProcess(stateDir, PROCESS);
    const pid = startProcess(stateDir, {
      name: PROCESS,
      command: process.execPath,
      args: ['--import', 'tsx', MAIN, '--port', String(ctx.state.ports.providerFakes), '--host', '127.0.0.1'],
      cwd: repoRoot,
    });
    await waitUntil(() => answers(ctx), {
      what: 'provider-fakes',
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
