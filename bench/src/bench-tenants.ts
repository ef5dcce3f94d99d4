import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Tenant } from '@tenantry/tenant-api';
import { SHARD_LABEL } from './processes.ts';

/** Tenants a benchmark onboards through the real operator, and removes with everything they own. */
const TENANTS = { group: 'tenantry.dev', version: 'v1alpha1', plural: 'tenants' } as const;

/** A Tenant in the run's shard (the only one its operator reconciles), dropped entirely on deletion. */
export async function createBenchTenant(
  custom: CustomObjectsApi,
  name: string,
  shard: string,
  plan: string,
): Promise<void> {
  await custom.createClusterCustomObject({
    ...TENANTS,
    body: {
      apiVersion: 'tenantry.dev/v1alpha1',
      kind: 'Tenant',
      metadata: { name, labels: { [SHARD_LABEL]: shard } },
      spec: { displayName: name, plan, database: { reclaimPolicy: 'Delete' } },
    },
  });
}

/** The tenant's first host once it is Ready; fails at once when the operator process has exited. */
export async function readyHost(
  custom: CustomObjectsApi,
  name: string,
  operator: ChildProcess,
): Promise<string> {
  let host: string | undefined;
  await until(`tenant ${name} Ready`, 180_000, async () => {
    if (operator.exitCode !== null) throw new Error(`the operator exited with ${operator.exitCode}`);
    const tenant = (await custom.getClusterCustomObject({ ...TENANTS, name })) as Tenant;
    const ready = tenant.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    host = tenant.status?.hosts?.[0];
    return Boolean(ready && host);
  });
  return host as string;
}

/** Deletes the tenants and waits until they are gone (the operator's finalizer drops what they own). */
export async function deleteBenchTenants(custom: CustomObjectsApi, names: readonly string[]): Promise<void> {
  await Promise.all(names.map((name) => custom.deleteClusterCustomObject({ ...TENANTS, name })));
  for (const name of names) {
    await until(`tenant ${name} to be deleted`, 60_000, async () => {
      try {
        await custom.getClusterCustomObject({ ...TENANTS, name });
        return false;
      } catch {
        return true;
      }
    });
  }
}

/** Polls `check` until it is true; an error naming an exited process ends the wait at once. */
export async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      if (error instanceof Error && /exited/.test(error.message)) throw error;
      lastError = error;
    }
    await sleep(200);
  }
  const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${reason}`);
}

/**
 * The run's platform namespace and its keys namespace (`<namespace>-keys`, the operator's and auth's
 * default), where the operator keeps signing keys and owner credentials. Returns the keys namespace.
 */
export async function createPlatformNamespaces(kc: KubeConfig, namespace: string): Promise<string> {
  const keysNamespace = `${namespace}-keys`;
  for (const name of [namespace, keysNamespace]) {
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  }
  return keysNamespace;
}
