import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { TENANT_GROUP, TENANT_PLURAL, TENANT_VERSION, type TenantSpec } from '@tenantry/tenant-api';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The API server refused the change (admission, validation, a conflict): the caller gets a 409. */
export class TenantChangeRefusedError extends Error {}

/**
 * Writes what billing decides into the Tenant: its plan (the operator then applies rate limits, quotas
 * and partitions to every backend) and, under the opt-in policy, its suspension. Billing's RBAC is get
 * and patch on tenants, nothing else.
 */
export interface TenantPlanWriter {
  patch(tenant: string, spec: Pick<Partial<TenantSpec>, 'plan' | 'suspended'>): Promise<void>;
}

/**
 * Statuses with which the API server refuses a well-formed patch on its merits (validation, admission,
 * a conflict). A 403 is not one: it is billing's own RBAC missing, a deployment error (a 500).
 */
const REFUSALS = new Set([400, 409, 422]);

export function tenantPlanWriter(kc: KubeConfig): TenantPlanWriter {
  const custom = kc.makeApiClient(CustomObjectsApi);
  return {
    async patch(tenant, spec) {
      try {
        await custom.patchClusterCustomObject(
          {
            group: TENANT_GROUP,
            version: TENANT_VERSION,
            plural: TENANT_PLURAL,
            name: tenant,
            body: { spec },
          },
          mergePatch,
        );
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        const body = (error as { body?: unknown }).body;
        const reason = typeof body === 'string' ? (safeMessage(body) ?? body) : String(error);
        if (typeof code === 'number' && REFUSALS.has(code)) {
          throw new TenantChangeRefusedError(`the API server refused to change tenant ${tenant}: ${reason}`, {
            cause: error,
          });
        }
        throw new Error(`while patching tenant ${tenant} (${JSON.stringify(spec)}): ${reason}`, {
          cause: error,
        });
      }
    },
  };
}

/** The `message` of a Kubernetes Status body. */
function safeMessage(body: string): string | undefined {
  try {
    const message = (JSON.parse(body) as { message?: unknown }).message;
    return typeof message === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}
