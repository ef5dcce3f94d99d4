import { topicNames } from '@tenantry/tenant-api';
import { kafkaFailure } from '../failures.ts';
import type { StepContext, StepResult } from '../reconcile-context.ts';
import { reconcileTopics, topicPolicy } from '../topics.ts';

/** The tenant's topics at the plan's partitions and retention; independent of the database. */
export async function reconcileTenantTopics(ctx: StepContext): Promise<StepResult<{ topics: string[] }>> {
  const { deps, name, plan } = ctx;
  const topics = topicNames(name);
  const outcome = await deps.kafka
    .use((admin) => reconcileTopics(admin, topics, topicPolicy(plan.spec)))
    .catch((error) => {
      throw kafkaFailure(`reconciling topics ${topics.join(', ')}`, error);
    });
  return {
    output: { topics },
    // A refused change (a partition decrease) is permanent: retrying cannot fix it, the plan must.
    condition: outcome.ok
      ? {
          type: 'TopicsReady',
          status: 'True',
          reason: 'Reconciled',
          message: `${topics.join(', ')} match plan ${plan.metadata.name}`,
        }
      : { type: 'TopicsReady', status: 'False', reason: outcome.reason, message: outcome.message },
  };
}
