import { CustomObjectsApi, type KubeConfig, type KubernetesListObject } from '@kubernetes/client-node';
import { PLAN_PLURAL, type Plan, type PlanBilling, TENANT_GROUP, TENANT_VERSION } from '@tenantry/tenant-api';

/** A Plan that can be subscribed to: it has prices. */
export interface PricedPlan {
  name: string;
  displayName: string;
  monthlyTokens: number;
  billing: PlanBilling;
}

export interface PlanCatalog {
  /** The priced Plans of the cluster, by name. */
  list(): Promise<PricedPlan[]>;
  get(name: string): Promise<PricedPlan | undefined>;
}

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** The plan's prices, or undefined when it has none or they were written around the CRD's schema. */
export function pricedPlan(plan: Plan): PricedPlan | undefined {
  // Typed by the CRD, read as unknown: an object written around the schema must not bill wrongly.
  const billing: Partial<Record<keyof PlanBilling, unknown>> | undefined = plan.spec?.billing;
  if (
    !billing ||
    !isCount(billing.basePriceMinor) ||
    !isCount(billing.includedTokens) ||
    !isCount(billing.overagePerThousandTokensMinor) ||
    typeof billing.currency !== 'string' ||
    !/^[a-z]{3}$/.test(billing.currency)
  ) {
    return undefined;
  }
  return {
    name: plan.metadata.name,
    displayName: plan.spec.displayName ?? plan.metadata.name,
    monthlyTokens: isCount(plan.spec.chat?.monthlyTokens) ? plan.spec.chat.monthlyTokens : 0,
    billing: {
      basePriceMinor: billing.basePriceMinor,
      currency: billing.currency,
      includedTokens: billing.includedTokens,
      overagePerThousandTokensMinor: billing.overagePerThousandTokensMinor,
    },
  };
}

/**
 * The Plans as the API server has them now. Read on each use rather than cached from a watch: plans
 * are read when a subscription changes or a period closes, rarely, and a price must never be stale.
 */
export function planCatalog(kc: KubeConfig): PlanCatalog {
  const custom = kc.makeApiClient(CustomObjectsApi);
  return {
    async list() {
      const plans = (await custom.listClusterCustomObject({
        group: TENANT_GROUP,
        version: TENANT_VERSION,
        plural: PLAN_PLURAL,
      })) as KubernetesListObject<Plan>;
      return plans.items
        .map(pricedPlan)
        .filter((plan): plan is PricedPlan => plan !== undefined)
        .sort((a, b) => a.billing.basePriceMinor - b.billing.basePriceMinor || a.name.localeCompare(b.name));
    },
    async get(name) {
      try {
        const plan = (await custom.getClusterCustomObject({
          group: TENANT_GROUP,
          version: TENANT_VERSION,
          plural: PLAN_PLURAL,
          name,
        })) as Plan;
        return pricedPlan(plan);
      } catch (error) {
        if ((error as { code?: unknown }).code === 404) return undefined;
        throw new Error(`while reading Plan ${name}: ${(error as Error).message}`, { cause: error });
      }
    },
  };
}
