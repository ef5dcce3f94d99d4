import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  NetworkingV1Api,
} from '@kubernetes/client-node';
import type { Logger } from '@tenantry/logger';
import {
  defaultHost,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  PLAN_PLURAL,
  type Plan,
  TENANT_GROUP,
  TENANT_LABEL,
  TENANT_PLURAL,
  TENANT_VERSION,
  type Tenant,
} from '@tenantry/tenant-api';
import { type ResourceWatch, type ResourceWatchOptions, watchResources } from '@tenantry/tenant-secrets';
import type { Sql } from 'postgres';
import { applyManifests } from './apply-manifests.ts';
import type { OperatorConfig } from './config.ts';
import { isForbidden } from './kube-errors.ts';
import type { createOperatorMetrics } from './runtime/metrics.ts';
import { WorkQueue } from './runtime/work-queue.ts';
import type { KafkaAdmin } from './tenant/kafka-admin.ts';
import { createEventRecorder } from './tenant/kube-events.ts';
import { createTenantReconciler } from './tenant/reconciler.ts';

/**
 * The Tenant controller: watches on Tenants, Plans and the objects the operator owns feed a keyed
 * work queue; a periodic resync re-queues every tenant, which is what repairs drift in systems that
 * cannot be watched (PostgreSQL, Kafka). The watches are the platform's shared ones
 * (@tenantry/tenant-secrets): restarted with capped exponential backoff after any failure.
 */
export interface ControllerDeps {
  kc: KubeConfig;
  config: OperatorConfig;
  postgres: Sql;
  kafka: KafkaAdmin;
  logger: Logger;
  metrics: ReturnType<typeof createOperatorMetrics>;
  /** Abandons a start still waiting for its watches (the operator stopping meanwhile). */
  signal?: AbortSignal;
}

export interface TenantController {
  /** True once every watch has listed its objects. */
  readonly synced: boolean;
  stop(): Promise<void>;
}

const FIELD_MANAGER = 'tenantry-operator';

/** The objects a watch has seen, by name: what the controller asks instead of the API server. */
class ObjectCache<T extends KubernetesObject> {
  private readonly byName = new Map<string, T>();
  upsert = (object: T) => {
    this.byName.set(object.metadata?.name ?? '', object);
  };
  delete = (object: T) => {
    this.byName.delete(object.metadata?.name ?? '');
  };
  get(name: string): T | undefined {
    return this.byName.get(name);
  }
  list(): T[] {
    return [...this.byName.values()];
  }
}

export async function startTenantController(deps: ControllerDeps): Promise<TenantController> {
  const { kc, config, logger, metrics } = deps;
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const networking = kc.makeApiClient(NetworkingV1Api);
  const namespace = config.platformNamespace;
  const ownedSelector = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
  const tenantSelector = config.tenantSelector;
  const tenants = new ObjectCache<Tenant>();
  const plans = new ObjectCache<Plan>();

  const reconcile = createTenantReconciler({
    config,
    core,
    custom,
    networking,
    apply: async (object) => {
      await applyManifests(kc, [object], FIELD_MANAGER);
    },
    postgres: deps.postgres,
    kafka: deps.kafka,
    events: createEventRecorder(core, (error) => logger.warn({ err: error }, 'could not record an event')),
    logger,
    listTenants: () => tenants.list(),
    getPlan: (name) => plans.get(name),
    observeStep: (step, result, seconds) => {
      metrics.reconcileDuration.observe({ step, result }, seconds);
      if (result === 'error') metrics.reconcileErrors.inc({ step });
    },
  });

  const queue = new WorkQueue(
    async (name) => {
      const started = performance.now();
      const outcome = await reconcile(name);
      metrics.reconcileDuration.observe(
        { step: 'total', result: 'ok' },
        (performance.now() - started) / 1000,
      );
      return outcome;
    },
    { concurrency: config.concurrency },
    {
      onError: (key, error, failures, retryInMs) => {
        metrics.reconcileErrors.inc({ step: 'total' });
        logger.warn(
          { tenant: key, failures, retryInMs, err: error },
          'reconcile failed; retrying with backoff',
        );
      },
    },
  );

  const enqueueOwner = (object: KubernetesObject) => {
    // Only tenants this operator reconciles (its selector): owned objects of another shard are not ours.
    const tenant = object.metadata?.labels?.[TENANT_LABEL];
    if (tenant && tenants.get(tenant)) queue.add(tenant);
  };
  const onPlan = (plan: Plan) => {
    for (const t of tenants.list()) if (t.spec.plan === plan.metadata.name) queue.add(t.metadata.name);
  };

  const stopping = new AbortController();
  deps.signal?.addEventListener('abort', () => stopping.abort(deps.signal?.reason), { once: true });
  const watch = <T extends KubernetesObject>(
    resource: string,
    options: Omit<ResourceWatchOptions<T>, 'kc' | 'logger' | 'onError' | 'signal' | 'description'>,
  ): Promise<ResourceWatch> =>
    watchResources<T>({
      ...options,
      kc,
      logger,
      description: resource,
      signal: stopping.signal,
      // A refused watch would otherwise degrade silently into retrying: the metric makes it visible.
      onError: (error) =>
        metrics.informerErrors.inc({ resource, reason: isForbidden(error) ? 'Forbidden' : 'Other' }),
    });
  const started = Promise.all([
    watch<Tenant>('tenants', {
      path: `/apis/${TENANT_GROUP}/${TENANT_VERSION}/${TENANT_PLURAL}`,
      list: () =>
        custom.listClusterCustomObject({
          group: TENANT_GROUP,
          version: TENANT_VERSION,
          plural: TENANT_PLURAL,
          labelSelector: tenantSelector,
        }) as Promise<KubernetesListObject<Tenant>>,
      ...(tenantSelector ? { labelSelector: tenantSelector } : {}),
      handlers: {
        upsert: (t) => {
          tenants.upsert(t);
          queue.add(t.metadata.name);
        },
        // A tenant gone for good needs nothing; the hosts it held may now go to a tenant that listed them.
        deleted: (gone) => {
          tenants.delete(gone);
          const freed = new Set([
            defaultHost(gone.metadata.name, config.baseDomain),
            ...(gone.spec.domains ?? []),
          ]);
          for (const t of tenants.list()) {
            if (t.spec.domains?.some((domain) => freed.has(domain))) queue.add(t.metadata.name);
          }
        },
      },
    }),
    watch<Plan>('plans', {
      path: `/apis/${TENANT_GROUP}/${TENANT_VERSION}/${PLAN_PLURAL}`,
      list: () =>
        custom.listClusterCustomObject({
          group: TENANT_GROUP,
          version: TENANT_VERSION,
          plural: PLAN_PLURAL,
        }) as Promise<KubernetesListObject<Plan>>,
      handlers: {
        upsert: (plan) => {
          plans.upsert(plan);
          onPlan(plan);
        },
        deleted: (plan) => {
          plans.delete(plan);
          onPlan(plan);
        },
      },
    }),
    watch<KubernetesObject>('ingresses', {
      path: `/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses`,
      list: () => networking.listNamespacedIngress({ namespace, labelSelector: ownedSelector }),
      labelSelector: ownedSelector,
      handlers: { upsert: enqueueOwner, deleted: enqueueOwner },
    }),
    ...[
      ['secrets', namespace],
      ['keys-namespace-secrets', config.keysNamespace],
    ].map(([resource = '', where = '']) =>
      watch<KubernetesObject>(resource, {
        path: `/api/v1/namespaces/${where}/secrets`,
        list: () => core.listNamespacedSecret({ namespace: where, labelSelector: ownedSelector }),
        labelSelector: ownedSelector,
        handlers: { upsert: enqueueOwner, deleted: enqueueOwner },
      }),
    ),
  ]);
  // Stopped before every watch synced (e.g. one refused by RBAC): the others must stop too.
  const watches = await started.catch(async (error: unknown) => {
    stopping.abort(error);
    await queue.shutdown();
    throw error;
  });
  let synced = true;
  queue.start();

  const updateGauges = () => {
    metrics.queueDepth.set(queue.length);
    metrics.tenantsByCondition.reset();
    for (const t of tenants.list()) {
      for (const c of t.status?.conditions ?? [])
        metrics.tenantsByCondition.inc({ condition: c.type, status: c.status });
    }
  };
  const resync = setInterval(() => {
    for (const t of tenants.list()) queue.add(t.metadata.name);
  }, config.resyncSeconds * 1000);
  const gauges = setInterval(updateGauges, 5000);
  logger.info({ tenants: tenants.list().length, namespace }, 'tenant controller started');

  return {
    get synced() {
      return synced;
    },
    async stop() {
      synced = false;
      clearInterval(resync);
      clearInterval(gauges);
      await Promise.all(watches.map((w) => w.stop()));
      await queue.shutdown();
    },
  };
}
