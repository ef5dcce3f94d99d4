import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import type { ComponentContext, LocalComponent } from './components/component.ts';
import { kafkaComponent } from './components/kafka.ts';
import { goToolBin, kubeComponent, kubeconfigPath } from './components/kube.ts';
import { mailpitComponent, mailpitUrl } from './components/mailpit.ts';
import { postgresComponent, postgresUrl, SUPERUSER } from './components/postgres.ts';
import { aiProviderEndpoints, providerFakesComponent } from './components/provider-fakes.ts';
import { STRIPE_TEST_KEY, stripeMockComponent, stripeMockUrl } from './components/stripe-mock.ts';
import type { DevstackConfig } from './config.ts';
import type { Endpoints } from './endpoints.ts';
import { wrapError } from './errors.ts';
import { runningPid } from './processes.ts';
import { type Progress, silentProgress } from './progress.ts';
import { ensureStateDirs, loadOrCreateState, type PortName, readState, type StackState } from './state.ts';

export const components: LocalComponent[] = [
  postgresComponent,
  kafkaComponent,
  kubeComponent,
  stripeMockComponent,
  mailpitComponent,
  providerFakesComponent,
];

function endpointsFile(stateDir: string): string {
  return join(stateDir, 'endpoints.json');
}

function endpointsFor(config: DevstackConfig, state: StackState): Endpoints {
  const { ports, postgresPassword } = state;
  const ctx: ComponentContext = { config, state, progress: silentProgress };
  return {
    provider: 'local',
    postgres: {
      url: postgresUrl(ctx),
      host: '127.0.0.1',
      port: ports.postgres,
      user: SUPERUSER,
      password: postgresPassword,
    },
    kafka: { brokers: [`127.0.0.1:${ports.kafka}`] },
    kube: { kubeconfig: kubeconfigPath(config.stateDir), server: `https://127.0.0.1:${ports.apiserver}` },
    clickhouse: config.clickhouseUrl
      ? { mode: 'http', url: config.clickhouseUrl }
      : { mode: 'embedded', path: join(config.stateDir, 'clickhouse') },
    stripe: { url: stripeMockUrl(ctx), apiKey: STRIPE_TEST_KEY },
    smtp: { host: '127.0.0.1', port: ports.smtp },
    mailpit: { apiUrl: `${mailpitUrl(ctx)}/api/v1`, uiUrl: `${mailpitUrl(ctx)}/` },
    aiProviders: aiProviderEndpoints(ctx),
    bin: { kubectl: goToolBin(config.cacheDir, 'kubectl'), helm: goToolBin(config.cacheDir, 'helm') },
  };
}

/** Serialises `up` and `down` of one state dir; a lock left by a killed process goes stale and is taken over. */
async function withLock<T>(stateDir: string, work: () => Promise<T>): Promise<T> {
  mkdirSync(stateDir, { recursive: true });
  const release = await lockfile.lock(stateDir, {
    lockfilePath: join(stateDir, 'devstack.lock'),
    stale: 20_000,
    update: 5_000,
    retries: { retries: 600, minTimeout: 200, maxTimeout: 1000 },
  });
  try {
    return await work();
  } finally {
    await release();
  }
}

function runningPorts(stateDir: string): Set<PortName> {
  const inUse = new Set<PortName>();
  for (const component of components) {
    if (component.processes.some((name) => runningPid(stateDir, name) !== undefined)) {
      for (const port of component.ports) inUse.add(port);
    }
  }
  return inUse;
}

export interface UpResult {
  endpoints: Endpoints;
  /** Components that were started by this call (the others were already up). */
  started: string[];
}

/**
 * Provisions (cached) and starts every component, in parallel. Idempotent: running, healthy
 * components are left alone; leftovers of a crashed run are stopped and restarted.
 */
export type ComponentName =
  | 'postgres'
  | 'kafka'
  | 'kube-apiserver'
  | 'stripe-mock'
  | 'mailpit'
  | 'provider-fakes';

export interface ComponentSelection {
  /** Only these components (outage tests stop and start one at a time); default: all. */
  only?: ComponentName[];
}

function selected(selection: ComponentSelection): LocalComponent[] {
  return selection.only
    ? components.filter((c) => selection.only?.includes(c.name as ComponentName))
    : components;
}

export async function up(
  config: DevstackConfig,
  progress: Progress,
  selection: ComponentSelection = {},
): Promise<UpResult> {
  if (config.provider === 'containers') {
    const { upContainers } = await import('./containers.ts');
    return upContainers(config, progress);
  }
  return withLock(config.stateDir, async () => {
    ensureStateDirs(config.stateDir);
    const state = await loadOrCreateState(config.stateDir, runningPorts(config.stateDir));
    const ctx: ComponentContext = { config, state, progress };
    const started: string[] = [];
    const results = await Promise.allSettled(
      selected(selection).map(async (component) => {
        try {
          await component.provision(ctx);
          if (await component.healthy(ctx)) {
            progress.info(`${component.name} already running`);
            return;
          }
          await progress.step(`starting ${component.name}`, () => component.start(ctx));
          started.push(component.name);
        } catch (error) {
          throw wrapError(`starting ${component.name}`, error);
        }
      }),
    );
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length > 0) {
      throw new Error(
        failures.map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason))).join('\n\n'),
      );
    }
    const endpoints = endpointsFor(config, state);
    writeFileSync(endpointsFile(config.stateDir), `${JSON.stringify(endpoints, null, 2)}\n`);
    return { endpoints, started };
  });
}

/** Stops every component of the stack; data stays unless `purge` (then the state dir is removed). */
export async function down(
  config: DevstackConfig,
  progress: Progress,
  options: ComponentSelection & { purge?: boolean } = {},
) {
  if (config.provider === 'containers') {
    const { downContainers } = await import('./containers.ts');
    return downContainers(config, progress);
  }
  if (!existsSync(config.stateDir)) return;
  await withLock(config.stateDir, async () => {
    const state = readState(config.stateDir);
    if (state) {
      const ctx: ComponentContext = { config, state, progress };
      await Promise.all(selected(options).map((c) => progress.step(`stopping ${c.name}`, () => c.stop(ctx))));
    }
    if (!options.only) rmSync(endpointsFile(config.stateDir), { force: true });
  });
  if (options.purge) rmSync(config.stateDir, { recursive: true, force: true });
}

export interface ComponentStatus {
  name: string;
  running: boolean;
  healthy: boolean;
  pids: number[];
}

export async function status(config: DevstackConfig): Promise<ComponentStatus[]> {
  const state = readState(config.stateDir);
  return Promise.all(
    components.map(async (component) => {
      const pids = component.processes
        .map((name) => runningPid(config.stateDir, name))
        .filter((pid): pid is number => pid !== undefined);
      const ctx = state && { config, state, progress: silentProgress };
      const healthy = ctx ? await component.healthy(ctx).catch(() => false) : false;
      return { name: component.name, running: pids.length > 0, healthy, pids };
    }),
  );
}

/** The endpoints of the stack running in this state dir, if it is up. */
export function runningEndpoints(config: DevstackConfig): Endpoints | undefined {
  const file = endpointsFile(config.stateDir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Endpoints) : undefined;
}
