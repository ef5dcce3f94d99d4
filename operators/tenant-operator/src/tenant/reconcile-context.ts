import type { CoreV1Api, CustomObjectsApi, KubernetesObject, NetworkingV1Api } from '@kubernetes/client-node';
import type { Logger } from '@tenantry/logger';
import type { Plan, Tenant } from '@tenantry/tenant-api';
import type { Sql } from 'postgres';
import type { OperatorConfig } from '../config.ts';
import type { ConditionInput } from './conditions.ts';
import type { KafkaAdmin } from './kafka-admin.ts';
import type { EventRecorder } from './kube-events.ts';
import type { SecretNamespaces } from './secrets.ts';

/** What one reconcile may reach: the clients, the caches the controller keeps, and its observers. */
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
  /** Tenants as the controller's watch last saw them: domain claims are decided across all of them. */
  listTenants(): readonly Tenant[];
  getPlan(name: string): Plan | undefined;
  observeStep(step: string, result: 'ok' | 'error', seconds: number): void;
}

/** The tenant a step works on, with its plan (the precondition every step needs). */
export interface StepContext {
  deps: ReconcilerDeps;
  tenant: Tenant;
  name: string;
  plan: Plan;
  suspended: boolean;
  namespaces: SecretNamespaces;
}

/**
 * What a step reports: its condition (True, or False for a failure retrying cannot fix, such as a
 * domain conflict) and what it adds to the status. A failure retrying may fix is thrown instead.
 */
export interface StepResult<T> {
  condition: ConditionInput;
  output: T;
}

/** Runs `work` as the named step: timed in the step metric and traced as `tenant.<step>`. */
export type TimedStep = <T>(step: string, work: () => Promise<T>) => Promise<T>;

export function secretNamespaces(config: OperatorConfig): SecretNamespaces {
  return { platform: config.platformNamespace, keys: config.keysNamespace };
}
