import { SpanStatusCode, trace } from '@opentelemetry/api';
import {
  appSecretName,
  type Condition,
  databaseName,
  TENANT_GROUP,
  TENANT_PLURAL,
  TENANT_VERSION,
  type Tenant,
  type TenantStatus,
} from '@tenantry/tenant-api';
import { isNotFound, kubeMessage } from '../kube-errors.ts';
import type { ReconcileOutcome } from '../runtime/work-queue.ts';
import { type ConditionInput, findCondition, readyCondition, setCondition } from './conditions.ts';
import { Conflict, describe, StepFailure } from './failures.ts';
import { addFinalizer, finalize, hasFinalizer } from './finalizer.ts';
import {
  type ReconcilerDeps,
  type StepContext,
  type StepResult,
  secretNamespaces,
  type TimedStep,
} from './reconcile-context.ts';
import { provisionDatabase, retainedDataOwner, writeCredentials } from './steps/database-step.ts';
import { ensureIdentityKeys } from './steps/identity-keys-step.ts';
import { applyIngress, claimHosts } from './steps/ingress-step.ts';
import { migrateDatabase } from './steps/migrations-step.ts';
import { reconcileTenantTopics } from './steps/topics-step.ts';
import { reportStatus } from './tenant-status.ts';

export type { ReconcilerDeps } from './reconcile-context.ts';

/**
 * The reconcile loop of one Tenant, in the manner of CloudNativePG's: get → finalizer/deletion →
 * preconditions (the plan) → steps (database with identity keys, migrations, topics, ingress; each
 * in steps/, each returning its condition) → status, written only when it changed, with an Event per
 * changed condition. Level-triggered and idempotent: every step compares the world with the desired
 * state and repairs it, so a crash at any point converges on the next run. A write conflict is a
 * requeue, a transient step failure an error (retried with backoff), a permanent one only a condition.
 */
const PLAN_RETRY_MS = 30_000;
const CONFLICT_REQUEUE_MS = 100;
// Looked up per use: telemetry starts after this module is imported, and replaces the global
// provider that a tracer taken at import time would keep delegating to (a no-op).
const tracer = () => trace.getTracer('tenantry-operator');

export function createTenantReconciler(deps: ReconcilerDeps): (name: string) => Promise<ReconcileOutcome> {
  const { config, custom, logger } = deps;

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

  const timedFor =
    (tenant: string): TimedStep =>
    (step, work) => {
      const started = performance.now();
      return tracer().startActiveSpan(
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
    };

  async function reconcile(name: string): Promise<ReconcileOutcome> {
    const tenant = await getTenant(name);
    if (!tenant) return;
    const timed = timedFor(name);
    if (tenant.metadata.deletionTimestamp) return finalize(deps, tenant, timed);
    if (!hasFinalizer(tenant)) {
      await addFinalizer(deps, tenant);
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
    /** Runs one step: its condition is set either way; its output only when it succeeded. */
    const step = async <T>(
      type: ConditionInput['type'],
      run: () => Promise<StepResult<T>>,
    ): Promise<T | undefined> => {
      try {
        const result = await run();
        set(result.condition);
        return result.output;
      } catch (error) {
        fail(type, error);
        return undefined;
      }
    };

    // Precondition: the Plan watch's cache is authoritative; a Plan created later re-queues its tenants.
    const plan = deps.getPlan(tenant.spec.plan);
    if (!plan) {
      const message = `plan "${tenant.spec.plan}" does not exist (kubectl get plans lists the plans)`;
      for (const type of ['DatabaseReady', 'MigrationsApplied', 'TopicsReady', 'RoutesReady'] as const) {
        if (!findCondition(conditions, type))
          set({ type, status: 'Unknown', reason: 'PlanNotFound', message });
      }
      set({ type: 'Ready', status: 'False', reason: 'PlanNotFound', message });
      await reportStatus(deps, tenant, previous, { ...tenant.status, ...status, conditions });
      return { requeueAfterMs: PLAN_RETRY_MS };
    }
    const ctx: StepContext = { deps, tenant, name, plan, suspended, namespaces: secretNamespaces(config) };

    // Precondition: the name's database, if it exists, is this Tenant's, or one it adopts by uid. A
    // retained database of a deleted Tenant is never handed to a new one unasked: nothing is written
    // (no credentials, no keys, no route) until spec.database.adoptRetainedFrom names it.
    const retainedFrom = await retainedDataOwner(ctx).catch(() => undefined);
    if (retainedFrom) {
      const message = `database ${databaseName(name)} holds the retained data of a deleted Tenant of this name (uid ${retainedFrom}); set spec.database.adoptRetainedFrom: ${retainedFrom} to reattach it, or drop the database`;
      set({ type: 'DatabaseReady', status: 'False', reason: 'RetainedDataExists', message });
      for (const type of ['MigrationsApplied', 'TopicsReady', 'RoutesReady'] as const) {
        set({ type, status: 'Unknown', reason: 'RetainedDataExists', message: 'waiting for the database' });
      }
      set({ type: 'Ready', status: 'False', reason: 'RetainedDataExists', message });
      await reportStatus(deps, tenant, previous, { ...tenant.status, ...status, conditions });
      return { requeueAfterMs: PLAN_RETRY_MS };
    }

    // Database and roles (with the credentials Secrets and the identity keys), then migrations as the owner.
    const database = await step('DatabaseReady', () =>
      timed('database', async () => {
        const credentials = await writeCredentials(ctx);
        status.identity = await ensureIdentityKeys(ctx);
        return provisionDatabase(ctx, credentials);
      }),
    );
    if (database && !suspended) {
      const migrated = await step('MigrationsApplied', () =>
        timed('migrations', () => migrateDatabase(ctx, database.ownerUrl)),
      );
      if (migrated && status.database) status.database.migrationsVersion = migrated.version;
    } else if (!database) {
      set({
        type: 'MigrationsApplied',
        status: 'Unknown',
        reason: 'WaitingForDatabase',
        message: 'the database is not ready',
      });
    }

    const topics = await step('TopicsReady', () => timed('topics', () => reconcileTenantTopics(ctx)));
    if (topics) status.topics = topics.topics;

    const routes = await step('RoutesReady', async () => {
      const claimed = claimHosts(ctx);
      return timed('routes', () => applyIngress(ctx, claimed));
    });
    if (routes) status.hosts = routes.hosts;

    set(readyCondition(conditions, suspended));
    const ready = findCondition(conditions, 'Ready');
    status.conditions = conditions;
    status.readySeconds = tenant.status?.readySeconds;
    if (ready?.status === 'True' && status.readySeconds === undefined && tenant.metadata.creationTimestamp) {
      status.readySeconds = (Date.now() - new Date(tenant.metadata.creationTimestamp).getTime()) / 1000;
    }
    await reportStatus(deps, tenant, previous, status);
    if (transientFailures.length > 0) throw new Error(transientFailures.join('; '));
  }

  return (name) =>
    tracer().startActiveSpan(
      'tenant.reconcile',
      { attributes: { 'tenantry.tenant': name } },
      async (span) => {
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
      },
    );
}
