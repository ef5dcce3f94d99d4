import {
  type CoreV1Api,
  type CustomObjectsApi,
  type KubernetesObject,
  type NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import {
  appSecretName,
  type Condition,
  databaseName,
  FINALIZER,
  ingressName,
  type Plan,
  TENANT_GROUP,
  TENANT_PLURAL,
  TENANT_VERSION,
  type Tenant,
  type TenantStatus,
  topicNames,
} from '@tenantry/tenant-api';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { OperatorConfig } from '../config.ts';
import { isConflict, isNotFound, kubeMessage } from '../kube-errors.ts';
import type { ReconcileOutcome } from '../runtime/work-queue.ts';
import { type ConditionInput, findCondition, readyCondition, setCondition } from './conditions.ts';
import { dropTenantDatabase, ensureTenantDatabase, suspendTenantRoles } from './database.ts';
import type { EventRecorder } from './events.ts';
import type { KafkaAdmin } from './kafka-admin.ts';
import { applyMigrations } from './migrations.ts';
import { buildIngress, resolveHostClaims, routedHosts } from './routes.ts';
import { deleteCredentials, ensureCredentials } from './secrets.ts';
import { writeTenantSettings } from './settings.ts';
import { deleteSigningKey, ensureSigningKey, publicKeysConfigMap } from './signing-key.ts';
import { deleteTopics, reconcileTopics, topicPolicy } from './topics.ts';

/**
 * One reconcile of one Tenant: get → finalizer/deletion → plan precondition → database → migrations
 * → topics → routes → status. Level-triggered and idempotent: every step compares the world with
 * the desired state and repairs it, so a crash at any point converges on the next run.
 */
export interface ReconcilerDeps {
  config: OperatorConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  networking: NetworkingV1Api;
  /** Server-side apply of one object, as the operator's field manager. */
  apply(object: KubernetesObject): Promise<void>;
  postgres: Sql;
  kafka: KafkaAdmin;
  events: EventRecorder;
  logger: Logger;
  /** Tenants as the informer last saw them: domain claims are decided across all of them. */
  listTenants(): readonly Tenant[];
  getPlan(name: string): Plan | undefined;
  observeStep(step: string, result: 'ok' | 'error', seconds: number): void;
}

const PLAN_RETRY_MS = 30_000;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const tracer = trace.getTracer('tenantry-operator');

/** Someone else wrote the Tenant meanwhile: not an error, just reconcile again from a fresh read. */
class Conflict extends Error {}
const CONFLICT_REQUEUE_MS = 100;

/** A step failure with the condition reason that explains it (naming the dependency at fault). */
class StepFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Codes and names along an error's `cause` chain: modules below wrap errors with context. */
function errorChain(error: unknown): { code?: string; name?: string }[] {
  const chain: { code?: string; name?: string }[] = [];
  for (let current = error; current && chain.length < 10; current = (current as { cause?: unknown }).cause) {
    chain.push(current as { code?: string; name?: string });
  }
  return chain;
}

const POSTGRES_UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P03', // cannot_connect_now (starting up)
]);

function postgresFailure(doing: string, error: unknown): StepFailure {
  const unavailable = errorChain(error).some((e) => e.code !== undefined && POSTGRES_UNAVAILABLE.has(e.code));
  return new StepFailure(
    unavailable ? 'PostgresUnavailable' : 'PostgresError',
    `while ${doing}: ${describe(error)}`,
    true,
  );
}

function kafkaFailure(doing: string, error: unknown): StepFailure {
  const unavailable = errorChain(error).some((e) =>
    /Connection|NumberOfRetriesExceeded|RequestTimeout|BrokerNotFound/.test(e.name ?? ''),
  );
  return new StepFailure(
    unavailable ? 'KafkaUnavailable' : 'KafkaError',
    `while ${doing}: ${describe(error)}`,
    true,
  );
}

export function createTenantReconciler(deps: ReconcilerDeps): (name: string) => Promise<ReconcileOutcome> {
  const { config, custom, logger } = deps;
  const namespace = config.platformNamespace;
  const secretNamespaces = { platform: namespace, keys: config.keysNamespace };

  async function getTenant(name: string): Promise<Tenant | undefined> {
    try {
      return (await custom.getClusterCustomObject({
        group: TENANT_GROUP,
        version: TENANT_VERSION,
        plural: TENANT_PLURAL,
        name,
      })) as Tenant;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new Error(`while reading tenant ${name}: ${kubeMessage(error)}`, { cause: error });
    }
  }

  async function setFinalizers(tenant: Tenant, finalizers: string[]): Promise<void> {
    // resourceVersion makes the merge patch optimistic: a concurrent writer turns this into a 409.
    try {
      await custom.patchClusterCustomObject(
        {
          group: TENANT_GROUP,
          version: TENANT_VERSION,
          plural: TENANT_PLURAL,
          name: tenant.metadata.name,
          body: { metadata: { finalizers, resourceVersion: tenant.metadata.resourceVersion } },
        },
        mergePatch,
      );
    } catch (error) {
      if (isConflict(error)) throw new Conflict(`tenant ${tenant.metadata.name} changed meanwhile`);
      throw new Error(
        `while updating the finalizers of tenant ${tenant.metadata.name}: ${kubeMessage(error)}`,
      );
    }
  }

  async function timed<T>(step: string, tenant: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    return tracer.startActiveSpan(
      `tenant.${step}`,
      { attributes: { 'tenantry.tenant': tenant } },
      async (span) => {
        try {
          const result = await work();
          deps.observeStep(step, 'ok', (performance.now() - started) / 1000);
          return result;
        } catch (error) {
          deps.observeStep(step, 'error', (performance.now() - started) / 1000);
          span.recordException(error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: describe(error) });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  async function finalize(tenant: Tenant): Promise<ReconcileOutcome> {
    const name = tenant.metadata.name;
    const finalizers = tenant.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return;
    const policy = tenant.spec.database?.reclaimPolicy ?? 'Retain';
    try {
      await timed('cleanup', name, async () => {
        try {
          await deps.networking.deleteNamespacedIngress({ name: ingressName(name), namespace });
        } catch (error) {
          if (!isNotFound(error))
            throw new Error(`while deleting Ingress ${ingressName(name)}: ${kubeMessage(error)}`);
        }
        if (policy === 'Delete') {
          await dropTenantDatabase(deps.postgres, name).catch((error) => {
            throw postgresFailure(`dropping database ${databaseName(name)}`, error);
          });
          await deps.kafka
            .use((admin) => deleteTopics(admin, topicNames(name)))
            .catch((error) => {
              throw kafkaFailure(`deleting topics of ${name}`, error);
            });
          await deleteCredentials(deps.core, name, secretNamespaces);
          await deleteSigningKey(deps.core, name, secretNamespaces);
        } else {
          // Data stays; the tenant's roles stop logging in until someone re-creates the tenant.
          await suspendTenantRoles(deps.postgres, name).catch((error) => {
            throw postgresFailure(`locking the roles of ${databaseName(name)}`, error);
          });
          // Its credentials and keys go: services stop following a tenant that is gone (no pool, no
          // consumer retrying its events, no token signed for it), and no key of a deleted tenant
          // lingers. Re-creating the tenant reattaches the data with new passwords and a new key.
          await deleteCredentials(deps.core, name, secretNamespaces);
          await deleteSigningKey(deps.core, name, secretNamespaces);
        }
      });
    } catch (error) {
      const reason = error instanceof StepFailure ? error.reason : 'CleanupFailed';
      await deps.events.record(tenant, 'Warning', 'CleanupFailed', `${reason}: ${describe(error)}`);
      await writeStatus(tenant, {
        ...tenant.status,
        conditions: setCondition(
          tenant.status?.conditions ?? [],
          { type: 'Ready', status: 'False', reason: 'CleanupFailed', message: describe(error) },
          tenant.metadata.generation ?? 0,
        ),
      });
      throw error;
    }
    const data = `database ${databaseName(name)}, its roles and topics ${topicNames(name).join(', ')}`;
    await deps.events.record(
      tenant,
      'Normal',
      policy === 'Delete' ? 'Deleted' : 'Retained',
      policy === 'Delete'
        ? `deleted ${data}, its credentials and signing key`
        : `reclaimPolicy Retain: kept ${data} (roles set to NOLOGIN); deleted its credentials and signing key, which re-creating the tenant replaces`,
    );
    await setFinalizers(
      tenant,
      finalizers.filter((f) => f !== FINALIZER),
    );
    logger.info({ tenant: name, policy }, 'tenant cleaned up');
  }

  async function writeStatus(tenant: Tenant, status: TenantStatus): Promise<boolean> {
    if (JSON.stringify(status) === JSON.stringify(tenant.status ?? {})) return false;
    await custom.replaceClusterCustomObjectStatus({
      group: TENANT_GROUP,
      version: TENANT_VERSION,
      plural: TENANT_PLURAL,
      name: tenant.metadata.name,
      body: { ...tenant, status },
    });
    return true;
  }

  async function reconcile(name: string): Promise<ReconcileOutcome> {
    const tenant = await getTenant(name);
    if (!tenant) return;
    if (tenant.metadata.deletionTimestamp) return finalize(tenant);
    if (!(tenant.metadata.finalizers ?? []).includes(FINALIZER)) {
      await setFinalizers(tenant, [...(tenant.metadata.finalizers ?? []), FINALIZER]);
      // The patch bumped resourceVersion; continue from a fresh read.
      return reconcile(name);
    }

    const generation = tenant.metadata.generation ?? 0;
    const suspended = tenant.spec.suspended === true;
    const previous = tenant.status?.conditions ?? [];
    let conditions: Condition[] = previous;
    const set = (input: ConditionInput) => {
      conditions = setCondition(conditions, input, generation);
    };
    const status: TenantStatus = {
      observedGeneration: generation,
      database: { name: databaseName(name), secretName: appSecretName(name) },
    };
    if (tenant.status?.identity) status.identity = tenant.status.identity;
    if (tenant.status?.database?.migrationsVersion && status.database) {
      status.database.migrationsVersion = tenant.status.database.migrationsVersion;
    }
    const transientFailures: string[] = [];
    const fail = (type: ConditionInput['type'], error: unknown) => {
      const failure = error instanceof StepFailure ? error : new StepFailure('Error', describe(error), true);
      set({ type, status: 'False', reason: failure.reason, message: failure.message });
      if (failure.transient) transientFailures.push(`${type}: ${failure.message}`);
    };

    // The Plan informer's cache is authoritative: a Plan created later re-queues its tenants.
    const plan = deps.getPlan(tenant.spec.plan);
    if (!plan) {
      const message = `plan "${tenant.spec.plan}" does not exist (kubectl get plans lists the plans)`;
      for (const type of ['DatabaseReady', 'MigrationsApplied', 'TopicsReady', 'RoutesReady'] as const) {
        if (!findCondition(conditions, type))
          set({ type, status: 'Unknown', reason: 'PlanNotFound', message });
      }
      set({ type: 'Ready', status: 'False', reason: 'PlanNotFound', message });
      await finish(tenant, previous, conditions, { ...tenant.status, ...status, conditions });
      return { requeueAfterMs: PLAN_RETRY_MS };
    }

    // Database and roles, then migrations as the owner role.
    let ownerUrl: string | undefined;
    try {
      await timed('database', name, async () => {
        const endpoint = { host: config.postgresPublicHost, port: config.postgresPublicPort };
        const credentials = await ensureCredentials(deps.core, tenant, secretNamespaces, endpoint).catch(
          (error) => {
            throw new StepFailure(
              'SecretError',
              `while writing the credentials Secrets: ${kubeMessage(error)}`,
              true,
            );
          },
        );
        const key = await ensureSigningKey(deps.core, tenant, secretNamespaces).catch((error: unknown) => {
          throw new StepFailure(
            'SecretError',
            `while writing the signing key Secret: ${kubeMessage(error)}`,
            true,
          );
        });
        await deps
          .apply(publicKeysConfigMap(name, namespace, key) as KubernetesObject)
          .catch((error: unknown) => {
            throw new StepFailure(
              'SecretError',
              `while publishing the public keys ConfigMap: ${kubeMessage(error)}`,
              true,
            );
          });
        status.identity = { signingKeySecret: key.secretName, keyId: key.keyId };
        await ensureTenantDatabase(
          deps.postgres,
          name,
          { owner: credentials.owner.password, app: credentials.app.password },
          { connectionLimit: plan.spec.postgres.connectionLimit, suspended },
        ).catch((error) => {
          throw postgresFailure(`provisioning database ${databaseName(name)}`, error);
        });
        const admin = new URL(config.postgresAdminUrl);
        admin.username = credentials.owner.username;
        admin.password = credentials.owner.password;
        admin.pathname = `/${databaseName(name)}`;
        ownerUrl = admin.toString();
      });
      set({
        type: 'DatabaseReady',
        status: 'True',
        reason: suspended ? 'Suspended' : 'Provisioned',
        message: suspended
          ? `database ${databaseName(name)} kept; its roles cannot log in while the tenant is suspended`
          : `database ${databaseName(name)} with roles; credentials in Secret ${namespace}/${appSecretName(name)}`,
      });
    } catch (error) {
      fail('DatabaseReady', error);
    }

    if (ownerUrl && !suspended) {
      const url = ownerUrl;
      try {
        const { version } = await timed('migrations', name, () =>
          applyMigrations(url)
            .catch((error) => {
              throw postgresFailure(`applying migrations to ${databaseName(name)}`, error);
            })
            .then(async (result) => {
              await writeTenantSettings(url, tenant).catch((error) => {
                throw postgresFailure(`writing the tenant settings of ${databaseName(name)}`, error);
              });
              return result;
            }),
        );
        if (status.database) status.database.migrationsVersion = version;
        set({
          type: 'MigrationsApplied',
          status: 'True',
          reason: 'Applied',
          message: `schema at ${version}`,
        });
      } catch (error) {
        fail('MigrationsApplied', error);
      }
    } else if (!ownerUrl) {
      set({
        type: 'MigrationsApplied',
        status: 'Unknown',
        reason: 'WaitingForDatabase',
        message: 'the database is not ready',
      });
    }

    // Topics, independent of the database.
    const topics = topicNames(name);
    try {
      const outcome = await timed('topics', name, () =>
        deps.kafka
          .use((admin) => reconcileTopics(admin, topics, topicPolicy(plan.spec)))
          .catch((error) => {
            throw kafkaFailure(`reconciling topics ${topics.join(', ')}`, error);
          }),
      );
      status.topics = topics;
      if (outcome.ok) {
        set({
          type: 'TopicsReady',
          status: 'True',
          reason: 'Reconciled',
          message: `${topics.join(', ')} match plan ${plan.metadata.name}`,
        });
      } else {
        fail('TopicsReady', new StepFailure(outcome.reason, outcome.message, false));
      }
    } catch (error) {
      fail('TopicsReady', error);
    }

    // Routes: hosts claimed by an older tenant are not routed.
    try {
      const claims = resolveHostClaims(
        [...deps.listTenants().filter((t) => t.metadata.name !== name), tenant],
        config.baseDomain,
      );
      const { hosts, conflicts } = routedHosts(tenant, claims, config.baseDomain);
      await timed('routes', name, async () => {
        const ingress = buildIngress(tenant, hosts, config, { suspended });
        await deps.apply(ingress as KubernetesObject).catch((error: unknown) => {
          throw new StepFailure(
            'IngressError',
            `while applying Ingress ${namespace}/${ingressName(name)}: ${kubeMessage(error)}`,
            true,
          );
        });
      });
      status.hosts = hosts;
      if (conflicts.length > 0) {
        const message = conflicts.map((c) => `${c.host} is already claimed by tenant ${c.owner}`).join('; ');
        fail('RoutesReady', new StepFailure('DomainConflict', `${message}; not routed`, false));
      } else {
        set({
          type: 'RoutesReady',
          status: 'True',
          reason: 'Routed',
          message: `routed ${hosts.join(', ')} to the gateway`,
        });
      }
    } catch (error) {
      fail('RoutesReady', error);
    }

    set(readyCondition(conditions, suspended));
    const ready = findCondition(conditions, 'Ready');
    status.conditions = conditions;
    status.readySeconds = tenant.status?.readySeconds;
    if (ready?.status === 'True' && status.readySeconds === undefined && tenant.metadata.creationTimestamp) {
      status.readySeconds = (Date.now() - new Date(tenant.metadata.creationTimestamp).getTime()) / 1000;
    }
    await finish(tenant, previous, conditions, status);
    if (transientFailures.length > 0) throw new Error(transientFailures.join('; '));
  }

  /** Writes status when it changed, and an Event for every condition that changed status or reason. */
  async function finish(
    tenant: Tenant,
    previous: Condition[],
    conditions: Condition[],
    status: TenantStatus,
  ): Promise<void> {
    try {
      await writeStatus(tenant, status);
    } catch (error) {
      if (isConflict(error)) throw new Conflict(`tenant ${tenant.metadata.name} changed meanwhile`);
      throw new Error(`while writing the status of tenant ${tenant.metadata.name}: ${kubeMessage(error)}`);
    }
    for (const condition of conditions) {
      const before = previous.find((c) => c.type === condition.type);
      if (before?.status === condition.status && before.reason === condition.reason) continue;
      const type = condition.status === 'False' ? 'Warning' : 'Normal';
      await deps.events.record(
        tenant,
        type,
        condition.reason,
        `${condition.type}=${condition.status}: ${condition.message}`,
      );
    }
  }

  return (name) =>
    tracer.startActiveSpan('tenant.reconcile', { attributes: { 'tenantry.tenant': name } }, async (span) => {
      try {
        return await reconcile(name);
      } catch (error) {
        if (error instanceof Conflict) {
          logger.debug({ tenant: name }, error.message);
          return { requeueAfterMs: CONFLICT_REQUEUE_MS };
        }
        span.setStatus({ code: SpanStatusCode.ERROR, message: describe(error) });
        throw error;
      } finally {
        span.end();
      }
    });
}
