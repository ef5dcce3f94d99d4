import type { KubernetesObject } from '@kubernetes/client-node';
import { ingressName } from '@tenantry/tenant-api';
import { kubeFailure } from '../failures.ts';
import { buildIngress, resolveHostClaims, routedHosts } from '../ingress.ts';
import type { StepContext, StepResult } from '../reconcile-context.ts';

/** Which hosts the tenant owns (an older tenant's claim wins), then its Ingress to the gateway. */
export function claimHosts(ctx: StepContext) {
  const { deps, tenant, name } = ctx;
  const claims = resolveHostClaims(
    [...deps.listTenants().filter((t) => t.metadata.name !== name), tenant],
    deps.config.baseDomain,
  );
  return routedHosts(tenant, claims, deps.config.baseDomain);
}

export async function applyIngress(
  ctx: StepContext,
  { hosts, conflicts }: ReturnType<typeof claimHosts>,
): Promise<StepResult<{ hosts: string[] }>> {
  const { deps, tenant, name, suspended, namespaces } = ctx;
  const ingress = buildIngress(tenant, hosts, deps.config, { suspended });
  await deps.apply(ingress as KubernetesObject).catch((error: unknown) => {
    throw kubeFailure('IngressError', `applying Ingress ${namespaces.platform}/${ingressName(name)}`, error);
  });
  // A host claimed by another tenant is permanent until one of them changes its spec.
  const condition =
    conflicts.length > 0
      ? {
          type: 'RoutesReady' as const,
          status: 'False' as const,
          reason: 'DomainConflict',
          message: `${conflicts.map((c) => `${c.host} is already claimed by tenant ${c.owner}`).join('; ')}; not routed`,
        }
      : {
          type: 'RoutesReady' as const,
          status: 'True' as const,
          reason: 'Routed',
          message: `routed ${hosts.join(', ')} to the gateway`,
        };
  return { output: { hosts }, condition };
}
