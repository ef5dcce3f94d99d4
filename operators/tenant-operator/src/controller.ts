import {
  CoreV1Api,
  CustomObjectsApi,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  NetworkingV1Api,
  type ObjectCache,
} from '@kubernetes/client-node';
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
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { OperatorConfig } from './config.ts';
import { applyManifests } from './crds.ts';
import { isForbidden, kubeMessage } from './kube-errors.ts';
import type { createOperatorMetrics } from './runtime/metrics.ts';
import { WorkQueue } from './runtime/work-queue.ts';
import { createEventRecorder } from './tenant/events.ts';
import type { KafkaAdmin } from './tenant/kafka-admin.ts';
import { createTenantReconciler } from './tenant/reconciler.ts';

/**
 * The Tenant controller: informers on Tenants, Plans and the objects the operator owns feed a keyed
 * work queue; a periodic resync re-queues every tenant, which is what repairs drift in systems that
 * cannot be watched (PostgreSQL, Kafka).
 */
export interface ControllerDeps {
  kc: KubeConfig;
  config: OperatorConfig;
  postgres: Sql;
  kafka: KafkaAdmin;
  logger: Logger;
  metrics: ReturnType<typeof createOperatorMetrics>;
}

export interface TenantController {
  /** True once every informer has listed its objects. */
  readonly synced: boolean;
  stop(): Promise<void>;
}

type CachedInformer<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

/** A fresh API server answers 429 while a resource's watch cache initialises: retry soon. */
const INFORMER_RESTART_MS = 500;
const FIELD_MANAGER = 'tenantry-operator';

export async function startTenantController(deps: ControllerDeps): Promise<TenantController> {
  const { kc, config, logger, metrics } = deps;
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const networking = kc.makeApiClient(NetworkingV1Api);
  const namespace = config.platformNamespace;
  const ownedSelector = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
  let stopping = false;

  const tenantSelector = config.tenantSelector;
  const tenants = makeInformer<Tenant>(
    kc,
    `/apis/${TENANT_GROUP}/${TENANT_VERSION}/${TENANT_PLURAL}`,
    () =>
      custom.listClusterCustomObject({
        group: TENANT_GROUP,
        version: TENANT_VERSION,
        plural: TENANT_PLURAL,
        labelSelector: tenantSelector,
      }) as Promise<KubernetesListObject<Tenant>>,
    tenantSelector,
  ) as CachedInformer<Tenant>;
  const plans = makeInformer<Plan>(
    kc,
    `/apis/${TENANT_GROUP}/${TENANT_VERSION}/${PLAN_PLURAL}`,
    () =>
      custom.listClusterCustomObject({
        group: TENANT_GROUP,
        version: TENANT_VERSION,
        plural: PLAN_PLURAL,
      }) as Promise<KubernetesListObject<Plan>>,
  ) as CachedInformer<Plan>;
  const ingresses = makeInformer(
    kc,
    `/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses`,
    () => networking.listNamespacedIngress({ namespace, labelSelector: ownedSelector }),
    ownedSelector,
  ) as CachedInformer<KubernetesObject>;
  const secretsIn = (where: string) =>
    makeInformer(
      kc,
      `/api/v1/namespaces/${where}/secrets`,
      () => core.listNamespacedSecret({ namespace: where, labelSelector: ownedSelector }),
      ownedSelector,
    ) as CachedInformer<KubernetesObject>;
  const secrets = secretsIn(namespace);
  const keySecrets = secretsIn(config.keysNamespace);

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
    const tenant = object.metadata?.labels?.[TENANT_LABEL];
    if (tenant) queue.add(tenant);
  };
  tenants.on('add', (t) => queue.add(t.metadata.name));
  tenants.on('update', (t) => queue.add(t.metadata.name));
  // A tenant gone for good needs nothing; the hosts it held may now go to a tenant that listed them.
  tenants.on('delete', (gone) => {
    const freed = new Set([defaultHost(gone.metadata.name, config.baseDomain), ...(gone.spec.domains ?? [])]);
    for (const t of tenants.list()) {
      if (t.spec.domains?.some((domain) => freed.has(domain))) queue.add(t.metadata.name);
    }
  });
  const onPlan = (plan: Plan) => {
    for (const t of tenants.list()) if (t.spec.plan === plan.metadata.name) queue.add(t.metadata.name);
  };
  plans.on('add', onPlan);
  plans.on('update', onPlan);
  plans.on('delete', onPlan);
  for (const informer of [ingresses, secrets, keySecrets]) {
    informer.on('delete', enqueueOwner);
    informer.on('update', enqueueOwner);
  }

  const named: [string, CachedInformer<KubernetesObject>][] = [
    ['tenants', tenants as unknown as CachedInformer<KubernetesObject>],
    ['plans', plans as unknown as CachedInformer<KubernetesObject>],
    ['ingresses', ingresses],
    ['secrets', secrets],
    ['keys-namespace-secrets', keySecrets],
  ];
  const informers = named.map(([, informer]) => informer);
  for (const [resource, informer] of named) {
    // client-node informers stop on error; restart them so a restarted API server is survived. A
    // refused watch would otherwise degrade silently into re-listing: the metric makes it visible.
    informer.on('error', (error: unknown) => {
      if (stopping) return;
      metrics.informerErrors.inc({ resource, reason: isForbidden(error) ? 'Forbidden' : 'Other' });
      logger.warn({ resource, reason: kubeMessage(error) }, 'informer failed; restarting');
      setTimeout(() => {
        if (!stopping)
          informer
            .start()
            .catch((e: unknown) =>
              logger.warn({ resource, reason: kubeMessage(e) }, 'informer restart failed'),
            );
      }, INFORMER_RESTART_MS);
    });
  }
  await Promise.all(informers.map((informer) => informer.start()));
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
      stopping = true;
      synced = false;
      clearInterval(resync);
      clearInterval(gauges);
      await Promise.all(informers.map((informer) => informer.stop()));
      await queue.shutdown();
    },
  };
}
