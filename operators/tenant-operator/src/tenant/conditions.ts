import type { Condition, ConditionType } from '@tenantry/tenant-api';

/**
 * metav1.Condition semantics: `lastTransitionTime` changes only when `status` flips, so a condition
 * that stays False while its message changes keeps the time it first went False.
 */
export interface ConditionInput {
  type: ConditionType;
  status: Condition['status'];
  reason: string;
  message: string;
}

export const STEP_CONDITIONS: ConditionType[] = [
  'DatabaseReady',
  'MigrationsApplied',
  'TopicsReady',
  'RoutesReady',
];

export function setCondition(
  conditions: Condition[],
  input: ConditionInput,
  generation: number,
  now: Date = new Date(),
): Condition[] {
  const previous = conditions.find((c) => c.type === input.type);
  const next: Condition = {
    ...input,
    observedGeneration: generation,
    lastTransitionTime:
      previous && previous.status === input.status
        ? previous.lastTransitionTime
        : now.toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  const others = conditions.filter((c) => c.type !== input.type);
  return [...others, next].sort((a, b) => conditionOrder(a.type) - conditionOrder(b.type));
}

function conditionOrder(type: ConditionType): number {
  const index = STEP_CONDITIONS.indexOf(type);
  return index === -1 ? STEP_CONDITIONS.length : index;
}

export function findCondition(
  conditions: Condition[] | undefined,
  type: ConditionType,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * The summary: Ready is True only when every step is True. Otherwise it carries the first failing
 * step's reason, so `kubectl get tenants` says why without a describe.
 */
export function readyCondition(conditions: Condition[], suspended: boolean): ConditionInput {
  if (suspended) {
    return {
      type: 'Ready',
      status: 'False',
      reason: 'Suspended',
      message: 'the tenant is suspended: logins and traffic are blocked, data is kept',
    };
  }
  const missing = STEP_CONDITIONS.find((type) => !findCondition(conditions, type));
  if (missing)
    return {
      type: 'Ready',
      status: 'Unknown',
      reason: 'Reconciling',
      message: `${missing} not reported yet`,
    };
  const failing = conditions.find((c) => STEP_CONDITIONS.includes(c.type) && c.status !== 'True');
  if (!failing) {
    return {
      type: 'Ready',
      status: 'True',
      reason: 'Provisioned',
      message: 'database, migrations, topics and routes are ready',
    };
  }
  return {
    type: 'Ready',
    status: failing.status === 'False' ? 'False' : 'Unknown',
    reason: failing.reason,
    message: `${failing.type}: ${failing.message}`,
  };
}
