import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  NetworkingV1Api,
  type V1Ingress,
} from '@kubernetes/client-node';
import type { Logger } from '@tenantry/logger';
import {
  isTenantName,
  MANAGED_BY_SELECTOR,
  PLAN_ANNOTATION,
  PLAN_PLURAL,
  type Plan,
  TENANT_GROUP,
  TENANT_LABEL,
  TENANT_VERSION,
} from '@tenantry/tenant-api';
import { type ResourceWatch, watchResources } from '@tenantry/tenant-secrets';

/** Where a tenant's monthly token quota comes from. */
export interface QuotaSource {
  /** The tenant's plan's monthly chat tokens, or undefined while its plan is unknown. */
  monthlyTokens(tenant: string): number | undefined;
}

/**
 * Each tenant's monthly chat tokens, followed from the cluster: the Plans (spec.chat.monthlyTokens)
 * and the operator's tenant Ingresses, whose `tenantry.dev/plan` annotation names the tenant's plan
 * (as the gateway follows them). An edited plan or a plan change applies from the next request.
 */
export class PlanQuotas implements QuotaSource {
  readonly #tokensByPlan = new Map<string, number>();
  readonly #planByTenant = new Map<string, string>();
  #watches: ResourceWatch[] = [];

  /** Quotas given directly (unit tests). */
  static fixed(byTenant: Record<string, number>): QuotaSource {
    return { monthlyTokens: (tenant) => byTenant[tenant] };
  }

  static async start(options: { kc: KubeConfig; namespace: string; logger: Logger }): Promise<PlanQuotas> {
    const { kc, namespace, logger } = options;
    const custom = kc.makeApiClient(CustomObjectsApi);
    const networking = kc.makeApiClient(NetworkingV1Api);
    const quotas = new PlanQuotas();
    try {
      quotas.#watches.push(
        await watchResources<Plan>({
          kc,
          path: `/apis/${TENANT_GROUP}/${TENANT_VERSION}/${PLAN_PLURAL}`,
          list: async () =>
            (await custom.listClusterCustomObject({
              group: TENANT_GROUP,
              version: TENANT_VERSION,
              plural: PLAN_PLURAL,
            })) as KubernetesListObject<Plan>,
          handlers: {
            upsert: (plan) => quotas.#upsertPlan(plan, logger),
            deleted: (plan) => {
              quotas.#tokensByPlan.delete(plan.metadata?.name ?? '');
            },
          },
          description: 'Plan',
          logger,
        }),
      );
      quotas.#watches.push(
        await watchResources<V1Ingress>({
          kc,
          path: `/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses`,
          list: () => networking.listNamespacedIngress({ namespace, labelSelector: MANAGED_BY_SELECTOR }),
          labelSelector: MANAGED_BY_SELECTOR,
          handlers: {
            upsert: (ingress) => quotas.#upsertIngress(ingress),
            deleted: (ingress) => {
              const tenant = ingress.metadata?.labels?.[TENANT_LABEL];
              if (tenant) quotas.#planByTenant.delete(tenant);
            },
          },
          description: 'tenant Ingress',
          logger,
        }),
      );
    } catch (error) {
      await quotas.close();
      throw error;
    }
    return quotas;
  }

  monthlyTokens(tenant: string): number | undefined {
    const plan = this.#planByTenant.get(tenant);
    return plan === undefined ? undefined : this.#tokensByPlan.get(plan);
  }

  async close(): Promise<void> {
    await Promise.all(this.#watches.map((watch) => watch.stop()));
  }

  #upsertPlan(plan: Plan, logger: Logger): void {
    const name = plan.metadata?.name;
    if (!name) return;
    // Read as unknown: an object written around the CRD's schema must not break the service.
    const tokens: unknown = plan.spec?.chat?.monthlyTokens;
    if (typeof tokens === 'number' && Number.isInteger(tokens) && tokens >= 0) {
      this.#tokensByPlan.set(name, tokens);
    } else {
      this.#tokensByPlan.delete(name);
      logger.warn({ plan: name }, 'ignoring a Plan without a valid spec.chat.monthlyTokens');
    }
  }

  #upsertIngress(ingress: V1Ingress): void {
    const tenant = ingress.metadata?.labels?.[TENANT_LABEL];
    if (!tenant || !isTenantName(tenant)) return;
    const plan = ingress.metadata?.annotations?.[PLAN_ANNOTATION];
    if (plan) this.#planByTenant.set(tenant, plan);
    else this.#planByTenant.delete(tenant);
  }
}
