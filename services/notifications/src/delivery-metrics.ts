import type { ServiceMetrics } from '@tenantry/metrics';

/**
 * The delivery metrics: notifications_sent_total, notifications_failed_total (every failed attempt,
 * by kind), notifications_retrying_total (retries scheduled), notifications_dead_total,
 * notifications_suppressed_total (mail a preference turned off) and the SMTP send latency histogram
 * notifications_send_duration_seconds, each by template.
 *
 * Written against prom-client's registry contract (`registerMetric` of an object whose `get()` gives
 * name, help, type and values) because this service may not depend on prom-client itself: a counter
 * and histogram factory belongs in @tenantry/metrics, after which these become its calls.
 */
type Registry = ServiceMetrics['registry'];
type RegisteredMetric = Parameters<Registry['registerMetric']>[0];
type Labels = Record<string, string>;

interface MetricValue {
  labels: Labels;
  value: number;
  metricName?: string;
}

const key = (labels: Labels) => JSON.stringify(Object.entries(labels).sort());

function register(registry: Registry, metric: object): void {
  registry.registerMetric(metric as unknown as RegisteredMetric);
}

class LabelledCounter {
  readonly #values = new Map<string, MetricValue>();
  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
  ) {
    register(registry, this);
  }
  inc(labels: Labels, by = 1): void {
    const k = key(labels);
    const entry = this.#values.get(k) ?? { labels, value: 0 };
    entry.value += by;
    this.#values.set(k, entry);
  }
  async get() {
    return {
      name: this.name,
      help: this.help,
      type: 'counter',
      values: [...this.#values.values()],
      aggregator: 'sum',
    };
  }
  reset(): void {
    this.#values.clear();
  }
}

/** Seconds; from a warm pooled connection on loopback to a slow relay's queueing. */
export const SEND_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

class LabelledHistogram {
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    register(registry, this);
  }
  observe(labels: Labels, seconds: number): void {
    const k = key(labels);
    const series = this.#series.get(k) ?? { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
    this.buckets.forEach((bound, i) => {
      if (seconds <= bound) series.counts[i] = (series.counts[i] ?? 0) + 1;
    });
    series.sum += seconds;
    series.count += 1;
    this.#series.set(k, series);
  }
  async get() {
    const values: MetricValue[] = [];
    for (const { labels, counts, sum, count } of this.#series.values()) {
      this.buckets.forEach((le, i) => {
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { ...labels, le: String(le) },
          value: counts[i] ?? 0,
        });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: count });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }
  reset(): void {
    this.#series.clear();
  }
}

export interface DeliveryMetrics {
  sent(template: string, seconds: number): void;
  failed(template: string, kind: 'transient' | 'permanent', seconds: number): void;
  retrying(template: string): void;
  dead(template: string): void;
  suppressed(template: string): void;
}

export function deliveryMetrics(metrics: ServiceMetrics): DeliveryMetrics {
  const { registry } = metrics;
  const sent = new LabelledCounter(
    registry,
    'notifications_sent_total',
    'Mails the SMTP relay accepted, by template',
  );
  const failed = new LabelledCounter(
    registry,
    'notifications_failed_total',
    'Failed send attempts, by template and kind (transient: retried; permanent: 5xx, dead)',
  );
  const retrying = new LabelledCounter(
    registry,
    'notifications_retrying_total',
    'Retries scheduled, by template',
  );
  const dead = new LabelledCounter(
    registry,
    'notifications_dead_total',
    'Deliveries moved to the dead-letter (5xx or attempts exhausted), by template',
  );
  const suppressed = new LabelledCounter(
    registry,
    'notifications_suppressed_total',
    'Mails not queued because the recipient turned the category off, by template',
  );
  const latency = new LabelledHistogram(
    registry,
    'notifications_send_duration_seconds',
    'Time of one SMTP send through the pool, by template and outcome',
    SEND_DURATION_BUCKETS,
  );
  return {
    sent(template, seconds) {
      sent.inc({ template });
      latency.observe({ template, outcome: 'sent' }, seconds);
    },
    failed(template, kind, seconds) {
      failed.inc({ template, kind });
      latency.observe({ template, outcome: 'failed' }, seconds);
    },
    retrying: (template) => retrying.inc({ template }),
    dead: (template) => dead.inc({ template }),
    suppressed: (template) => suppressed.inc({ template }),
  };
}
