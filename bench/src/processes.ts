import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Endpoints, repoRoot } from '@tenantry/devstack';

/** Programs of the platform run as their own processes, as in a pod, so the load generator does not share their CPU. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * `node --import tsx <entry>` from the repository root, with only the given environment (plus PATH);
 * `nodeArgs` go before the entry (`--cpu-prof`, which NODE_OPTIONS does not allow).
 */
export function startProgram(
  entry: string,
  env: Record<string, string>,
  path: string,
  nodeArgs: string[] = [],
): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(repoRoot, entry)], {
    cwd: repoRoot,
    env: { PATH: path, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Resolves once `url` answers 200; rejects after `timeoutMs` or when the process exits first. */
export async function waitForOk(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s`);
}

/** Reconciles only Tenants labelled with the run's shard, so a benchmark never touches other tenants. */
export const SHARD_LABEL = 'tenantry.dev/bench-shard';

/** The operator's environment for a benchmark run in `namespace` (also its shard). */
export function operatorEnv(
  endpoints: Endpoints,
  namespace: string,
  metricsPort: number,
): Record<string, string> {
  return {
    KUBECONFIG: endpoints.kube.kubeconfig,
    POSTGRES_ADMIN_URL: endpoints.postgres.url,
    KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
    PLATFORM_NAMESPACE: namespace,
    OPERATOR_TENANT_SELECTOR: `${SHARD_LABEL}=${namespace}`,
    OPERATOR_CONCURRENCY: '4',
    OPERATOR_LEADER_ELECTION: 'false',
    OPERATOR_METRICS_PORT: String(metricsPort),
    OPERATOR_PROBES_PORT: '0',
    LOG_LEVEL: 'error',
  };
}
