import { createMetricsRegistry } from '@tenantry/metrics';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface OperatorMetrics {
  registry: Registry;
  reconcileDuration: Histogram<'step' | 'result'>;
  reconcileErrors: Counter<'step'>;
  tenantsByCondition: Gauge<'condition' | 'status'>;
  queueDepth: Gauge;
  isLeader: Gauge;
  informerErrors: Counter<'resource' | 'reason'>;
}

/** Seconds; a reconcile step ranges from a no-op (about 1 ms) to a slow migration (tens of seconds). */
const RECONCILE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The operator's metrics, in a registry of their own as every program's (@tenantry/metrics): creating
 * them twice (tests, restarts in one process) never collides with an earlier instance.
 */
export function createOperatorMetrics(): OperatorMetrics {
  const registry = createMetricsRegistry();
  return {
    registry,
    reconcileDuration: new Histogram({
      name: 'tenantry_operator_reconcile_duration_seconds',
      help: 'Duration of reconcile steps, by step and result',
      labelNames: ['step', 'result'],
      buckets: RECONCILE_BUCKETS,
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: 'tenantry_operator_reconcile_errors_total',
      help: 'Reconcile steps that failed, by step',
      labelNames: ['step'],
      registers: [registry],
    }),
    tenantsByCondition: new Gauge({
      name: 'tenantry_operator_tenants',
      help: 'Tenants by status condition type and status',
      labelNames: ['condition', 'status'],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'tenantry_operator_workqueue_depth',
      help: 'Keys waiting in the work queue',
      registers: [registry],
    }),
    isLeader: new Gauge({
      name: 'tenantry_operator_leader',
      help: '1 while this replica holds the leader lease, else 0',
      registers: [registry],
    }),
    informerErrors: new Counter({
      name: 'tenantry_operator_informer_errors_total',
      help: 'List or watch failures of the informers, by resource and reason (Forbidden: RBAC is missing a rule)',
      labelNames: ['resource', 'reason'],
      registers: [registry],
    }),
  };
}
