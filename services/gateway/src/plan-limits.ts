import { CustomObjectsApi, type KubeConfig, type KubernetesListObject } from '@kubernetes/client-node';
import { PLAN_PLURAL, type Plan, TENANT_GROUP, TENANT_VERSION } from '@tenantry/tenant-api';
import { type Logger, type ResourceWatch, watchResources } from '@tenantry/tenant-secrets';

/** A plan's gateway limits, per minute, with the CRD's defaults applied. */
export interface RateLimits {
  /** The tenant's budget for requests with an access token. */
  requestsPerMinute: number;
  /** One signed-in user's share of it. */
  perUserRequestsPerMinute: number;
  /** The tenant's budget for the routes that need no token, apart from the one above. */
  anonymousRequestsPerMinute: number;
  /** One client address's share of the anonymous budget. */
  perClientRequestsPerMinute: number;
}

const MIN_PER_CLIENT = 5;

/** The limits a plan's `spec.rateLimit` gives, or undefined when its required figure is invalid. */
export function rateLimitsOf(spec: unknown): RateLimits | undefined {
  const given = (spec ?? {}) as Record<string, unknown>;
  const figure = (name: string): number | undefined => {
    const value = given[name];
    // The CRD requires integers of at least 1; anything else was written around the schema.
    return typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : undefined;
  };
  const requestsPerMinute = figure('requestsPerMinute');
  if (requestsPerMinute === undefined) return undefined;
  const anonymousRequestsPerMinute = figure('anonymousRequestsPerMinute') ?? requestsPerMinute;
  return {
    requestsPerMinute,
    perUserRequestsPerMinute: figure('perUserRequestsPerMinute') ?? requestsPerMinute,
    anonymousRequestsPerMinute,
    perClientRequestsPerMinute:
      figure('perClientRequestsPerMinute') ??
      Math.max(MIN_PER_CLIENT, Math.floor(anonymousRequestsPerMinute / 5)),
  };
}

/**
 * Each plan's gateway rate limits, followed from the cluster's Plans: plans are data the platform
 * engineer edits, and an edited limit applies from the next request, without a restart.
 */
export class PlanLimits {
  readonly #limits = new Map<string, RateLimits>();
  #watch: ResourceWatch | undefined;

  /** Limits given directly (unit tests); start() follows the Plans instead. */
  static fromLimits(limits: Record<string, RateLimits>): PlanLimits {
    const plans = new PlanLimits();
    for (const [name, limit] of Object.entries(limits)) plans.#limits.set(name, limit);
    return plans;
  }

  /** Resolves once the Plans are listed and watched (retrying, and logging, until then). */
  static async start(options: { kc: KubeConfig; logger?: Logger }): Promise<PlanLimits> {
    const custom = options.kc.makeApiClient(CustomObjectsApi);
    const plans = new PlanLimits();
    plans.#watch = await watchResources<Plan>({
      kc: options.kc,
      path: `/apis/${TENANT_GROUP}/${TENANT_VERSION}/${PLAN_PLURAL}`,
      list: async () =>
        (await custom.listClusterCustomObject({
          group: TENANT_GROUP,
          version: TENANT_VERSION,
          plural: PLAN_PLURAL,
        })) as KubernetesListObject<Plan>,
      handlers: {
        upsert: (plan) => plans.#upsert(plan, options.logger),
        deleted: (plan) => {
          if (plan.metadata?.name) plans.#limits.delete(plan.metadata.name);
        },
      },
      description: 'Plan',
      logger: options.logger,
    });
    return plans;
  }

  /** The plan's limits, or undefined for a plan this gateway does not know. */
  limits(plan: string | undefined): RateLimits | undefined {
    return plan === undefined ? undefined : this.#limits.get(plan);
  }

  async close(): Promise<void> {
    await this.#watch?.stop();
  }

  #upsert(plan: Plan, logger: Logger | undefined): void {
    const name = plan.metadata?.name;
    if (!name) return;
    // Typed by the CRD, but read as unknown: an object written around the schema must not break this.
    const limits = rateLimitsOf(plan.spec?.rateLimit);
    if (limits) {
      this.#limits.set(name, limits);
    } else {
      this.#limits.delete(name);
      logger?.warn({ plan: name }, 'ignoring a Plan without a valid spec.rateLimit.requestsPerMinute');
    }
  }
}
