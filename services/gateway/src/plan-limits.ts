import { CustomObjectsApi, type KubeConfig, type KubernetesListObject } from '@kubernetes/client-node';
import { PLAN_PLURAL, type Plan, TENANT_GROUP, TENANT_VERSION } from '@tenantry/tenant-api';
import { type Logger, type ResourceWatch, watchResources } from '@tenantry/tenant-secrets';

/**
 * Each plan's gateway rate limit, followed from the cluster's Plans: plans are data the platform
 * engineer edits, and an edited limit applies from the next request, without a restart.
 */
export class PlanLimits {
  readonly #requestsPerMinute = new Map<string, number>();
  #watch: ResourceWatch | undefined;

  /** Limits given directly (unit tests); start() follows the Plans instead. */
  static fromLimits(limits: Record<string, number>): PlanLimits {
    const plans = new PlanLimits();
    for (const [name, limit] of Object.entries(limits)) plans.#requestsPerMinute.set(name, limit);
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
          if (plan.metadata?.name) plans.#requestsPerMinute.delete(plan.metadata.name);
        },
      },
      description: 'Plan',
      logger: options.logger,
    });
    return plans;
  }

  /** The plan's requests per minute, or undefined for a plan this gateway does not know. */
  requestsPerMinute(plan: string | undefined): number | undefined {
    return plan === undefined ? undefined : this.#requestsPerMinute.get(plan);
  }

  async close(): Promise<void> {
    await this.#watch?.stop();
  }

  #upsert(plan: Plan, logger: Logger | undefined): void {
    const name = plan.metadata?.name;
    if (!name) return;
    // Typed by the CRD, but read as unknown: an object written around the schema must not break this.
    const limit: unknown = plan.spec?.rateLimit?.requestsPerMinute;
    // The CRD requires an integer of at least 1; anything else was written around the schema.
    if (typeof limit === 'number' && Number.isInteger(limit) && limit >= 1) {
      this.#requestsPerMinute.set(name, limit);
    } else {
      this.#requestsPerMinute.delete(name);
      logger?.warn({ plan: name }, 'ignoring a Plan without a valid spec.rateLimit.requestsPerMinute');
    }
  }
}
