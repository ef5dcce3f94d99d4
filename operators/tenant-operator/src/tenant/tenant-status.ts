import {
  type Condition,
  TENANT_GROUP,
  TENANT_PLURAL,
  TENANT_VERSION,
  type Tenant,
  type TenantStatus,
} from '@tenantry/tenant-api';
import { isConflict, kubeMessage } from '../kube-errors.ts';
import { Conflict } from './failures.ts';
import type { ReconcilerDeps } from './reconcile-context.ts';

/**
 * Writes the status subresource only when it changed (a no-op reconcile writes nothing, so it does
 * not wake every watcher); a concurrent writer is a Conflict, which the loop turns into a requeue.
 */
export async function writeStatus(
  deps: ReconcilerDeps,
  tenant: Tenant,
  status: TenantStatus,
): Promise<boolean> {
  if (JSON.stringify(status) === JSON.stringify(tenant.status ?? {})) return false;
  try {
    await deps.custom.replaceClusterCustomObjectStatus({
      group: TENANT_GROUP,
      version: TENANT_VERSION,
      plural: TENANT_PLURAL,
      name: tenant.metadata.name,
      body: { ...tenant, status },
    });
    return true;
  } catch (error) {
    if (isConflict(error)) throw new Conflict(`tenant ${tenant.metadata.name} changed meanwhile`);
    throw new Error(`while writing the status of tenant ${tenant.metadata.name}: ${kubeMessage(error)}`);
  }
}

/** Writes the status, then an Event for every condition that changed status or reason. */
export async function reportStatus(
  deps: ReconcilerDeps,
  tenant: Tenant,
  previous: Condition[],
  status: TenantStatus,
): Promise<void> {
  await writeStatus(deps, tenant, status);
  for (const condition of status.conditions ?? []) {
    const before = previous.find((c) => c.type === condition.type);
    if (before?.status === condition.status && before.reason === condition.reason) continue;
    const type = condition.status === 'False' ? 'Warning' : 'Normal';
    await deps.events.record(
      tenant,
      type,
      condition.reason,
      `${condition.type}=${condition.status}: ${condition.message}`,
    );
  }
}
