import { register as globalRegistry } from 'prom-client';
import { describe, expect, test } from 'vitest';
import { createOperatorMetrics } from './metrics.ts';

const OPERATOR_METRICS = [
  'tenantry_operator_reconcile_duration_seconds',
  'tenantry_operator_reconcile_errors_total',
  'tenantry_operator_tenants',
  'tenantry_operator_workqueue_depth',
  'tenantry_operator_leader',
  'tenantry_operator_informer_errors_total',
];

describe('createOperatorMetrics', () => {
  test('registers the operator metrics and unprefixed default metrics in a dedicated registry', () => {
    const { registry } = createOperatorMetrics();
    const names = registry.getMetricsAsArray().map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(OPERATOR_METRICS));
    expect(names).toEqual(
      expect.arrayContaining(['process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes']),
    );
    // Default metrics carry no operator prefix.
    expect(names.filter((n) => n.startsWith('tenantry_operator_')).sort()).toEqual(
      [...OPERATOR_METRICS].sort(),
    );
    for (const name of OPERATOR_METRICS) expect(globalRegistry.getSingleMetric(name)).toBeUndefined();
  });

  test('can be created twice in one process', () => {
    createOperatorMetrics();
    expect(() => createOperatorMetrics()).not.toThrow();
  });

  test('exposes recorded values with their labels', async () => {
    const m = createOperatorMetrics();
    m.reconcileDuration.observe({ step: 'database', result: 'success' }, 0.002);
    m.reconcileErrors.inc({ step: 'topics' });
    m.tenantsByCondition.set({ condition: 'Ready', status: 'True' }, 3);
    m.queueDepth.set(7);
    m.isLeader.set(1);
    const text = await m.registry.metrics();
    expect(text).toContain(
      'tenantry_operator_reconcile_duration_seconds_bucket{le="0.0025",step="database",result="success"} 1',
    );
    expect(text).toContain(
      'tenantry_operator_reconcile_duration_seconds_bucket{le="0.001",step="database",result="success"} 0',
    );
    expect(text).toContain('tenantry_operator_reconcile_errors_total{step="topics"} 1');
    expect(text).toContain('tenantry_operator_tenants{condition="Ready",status="True"} 3');
    expect(text).toContain('tenantry_operator_workqueue_depth 7');
    expect(text).toContain('tenantry_operator_leader 1');
  });

  test('reconcile duration buckets span 1 ms to 30 s', async () => {
    const { reconcileDuration } = createOperatorMetrics();
    reconcileDuration.observe({ step: 'database', result: 'success' }, 0);
    const bounds = (await reconcileDuration.get()).values
      .filter((v) => v.metricName === 'tenantry_operator_reconcile_duration_seconds_bucket')
      .map((v) => (v.labels as { le?: unknown }).le)
      .filter((le): le is number => typeof le === 'number');
    expect(Math.min(...bounds)).toBe(0.001);
    expect(Math.max(...bounds)).toBe(30);
  });
});
