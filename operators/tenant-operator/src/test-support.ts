import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  type V1PolicyRule as PolicyRule,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import {
  serviceAccountKubeConfig as createServiceAccountKubeConfig,
  devstack,
  kubeConfig,
  uniqueName,
} from '@tenantry/devstack/testing';
import { createLogger, type LogLevel } from '@tenantry/logger';
import type { Condition, ConditionType, Tenant, TenantSpec } from '@tenantry/tenant-api';
import { TENANT_GROUP, TENANT_PLURAL, TENANT_VERSION } from '@tenantry/tenant-api';
import { parse } from 'yaml';
import { applyDefaultPlans, applyManifests, installCrds } from './apply-manifests.ts';
import { loadOperatorConfig, type OperatorConfig } from './config.ts';
import { isNotFound } from './kube-errors.ts';
import { type RunningOperator, startOperator } from './operator.ts';

/**
 * Runs the operator in-process for a test file, the way it runs in a cluster: authenticated with a
 * service-account token (TokenRequest) whose only permissions are the shipped ClusterRole and Role,
 * so a missing rule fails the tests. Each harness has its own platform namespace and reconciles only
 * Tenants labelled with its shard, so test files run in parallel without two operators fighting.
 */
const rbacDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'config', 'rbac');
export const SHARD_LABEL = 'tenantry.dev/test-shard';

export interface HarnessOptions {
  /** Environment overrides for the operator's config (e.g. another POSTGRES_ADMIN_URL). */
  env?: Record<string, string>;
  /** The operator's log level (default: error; expected failures log warnings). */
  logLevel?: LogLevel;
  /** Rules to bind instead of the shipped ones (the RBAC test removes one verb at a time). */
  rules?: Rules;
}

/**
 * The rules of config/rbac: cluster-wide (ClusterRole), in the platform namespace (Role) and in the
 * keys namespace (Role).
 */
export interface Rules {
  cluster: PolicyRule[];
  namespaced: PolicyRule[];
  keys: PolicyRule[];
}

export function shippedRules(): Rules {
  return {
    cluster: (loadYaml('cluster-role.yaml') as { rules: PolicyRule[] }).rules,
    namespaced: (loadYaml('role.yaml') as { rules: PolicyRule[] }).rules,
    keys: (loadYaml('keys-role.yaml') as { rules: PolicyRule[] }).rules,
  };
}

export interface OperatorHarness {
  namespace: string;
  /** Where the operator keeps signing keys and owner credentials (config.keysNamespace). */
  keysNamespace: string;
  shard: string;
  baseDomain: string;
  admin: KubeConfig;
  /** The operator's own credentials: its service account's token. */
  operatorKc: KubeConfig;
  config: OperatorConfig;
  operator: RunningOperator;
  tenantName(prefix?: string): string;
  createTenant(name: string, spec: Partial<TenantSpec>): Promise<Tenant>;
  getTenant(name: string): Promise<Tenant | undefined>;
  patchTenantSpec(name: string, spec: Partial<TenantSpec>): Promise<void>;
  deleteTenant(name: string): Promise<void>;
  condition(name: string, type: ConditionType): Promise<Condition | undefined>;
  stop(): Promise<void>;
}

function loadYaml(file: string): KubernetesObject {
  return parse(readFileSync(join(rbacDir, file), 'utf8')) as KubernetesObject;
}

async function serviceAccountKubeConfig(
  admin: KubeConfig,
  namespace: string,
  keysNamespace: string,
  name: string,
  rules: Rules,
): Promise<KubeConfig> {
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  // A ClusterRole of this harness's own: harnesses in other files (or with other rules) run at once.
  const clusterRole = {
    ...loadYaml('cluster-role.yaml'),
    metadata: { name: `tenantry-operator-${namespace}` },
    rules: rules.cluster,
  };
  const role = {
    ...loadYaml('role.yaml'),
    metadata: { name: 'tenantry-operator', namespace },
    rules: rules.namespaced,
  };
  await applyManifests(admin, [clusterRole, role], 'tenantry-tests');
  const subject = [{ kind: 'ServiceAccount', name, namespace }];
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: `tenantry-operator-${namespace}` },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: clusterRole.metadata?.name ?? '',
      },
      subjects: subject,
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'tenantry-operator' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata?.name ?? '' },
      subjects: subject,
    },
  });
  // An empty rule list is still a Role: the RBAC test takes the keys namespace's verbs away too.
  const keysRole = {
    ...loadYaml('keys-role.yaml'),
    metadata: { name: 'tenantry-operator-keys', namespace: keysNamespace },
    rules: rules.keys,
  };
  await applyManifests(admin, [keysRole], 'tenantry-tests');
  await rbac.createNamespacedRoleBinding({
    namespace: keysNamespace,
    body: {
      metadata: { name: 'tenantry-operator-keys' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tenantry-operator-keys' },
      subjects: subject,
    },
  });
  return createServiceAccountKubeConfig(admin, namespace, name);
}

export async function startOperatorHarness(options: HarnessOptions = {}): Promise<OperatorHarness> {
  const admin = kubeConfig();
  await installCrds(admin);
  await applyDefaultPlans(admin);
  const namespace = uniqueName('platform');
  const shard = namespace;
  const baseDomain = `${shard}.test`;
  // The operator's default for KEYS_NAMESPACE.
  const keysNamespace = `${namespace}-keys`;
  for (const name of [namespace, keysNamespace]) {
    await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  }
  const operatorKc = await serviceAccountKubeConfig(
    admin,
    namespace,
    keysNamespace,
    'tenantry-operator',
    options.rules ?? shippedRules(),
  );

  const { postgres, kafka } = devstack();
  const config = loadOperatorConfig({
    POSTGRES_ADMIN_URL: postgres.url,
    KAFKA_BROKERS: kafka.brokers.join(','),
    PLATFORM_NAMESPACE: namespace,
    TENANTRY_BASE_DOMAIN: baseDomain,
    TENANTRY_INGRESS_CLASS: 'nginx',
    OPERATOR_TENANT_SELECTOR: `${SHARD_LABEL}=${shard}`,
    OPERATOR_RESYNC_SECONDS: '3',
    OPERATOR_METRICS_PORT: '0',
    OPERATOR_PROBES_PORT: '0',
    OPERATOR_LEASE_NAME: 'tenantry-operator',
    POD_NAME: `${shard}-operator`,
    ...options.env,
  });
  // Expected failures (outages, conflicts) log warnings; tests assert on conditions instead.
  const logger = createLogger({ service: 'tenant-operator', level: options.logLevel ?? 'error' });
  // Like the real process, which exits when it loses the Lease: this one stops reconciling.
  let lost: (() => void) | undefined;
  const operator = await startOperator({ kc: operatorKc, config, logger, onLostLeadership: () => lost?.() });
  lost = () => void operator.stop();
  const custom = admin.makeApiClient(CustomObjectsApi);
  const created = new Set<string>();
  const ref = { group: TENANT_GROUP, version: TENANT_VERSION, plural: TENANT_PLURAL };

  const harness: OperatorHarness = {
    namespace,
    keysNamespace: config.keysNamespace,
    shard,
    baseDomain,
    admin,
    operatorKc,
    config,
    operator,
    tenantName: (prefix = 'tn') => uniqueName(prefix),
    async createTenant(name, spec) {
      created.add(name);
      return (await custom.createClusterCustomObject({
        ...ref,
        body: {
          apiVersion: `${TENANT_GROUP}/${TENANT_VERSION}`,
          kind: 'Tenant',
          metadata: { name, labels: { [SHARD_LABEL]: shard } },
          spec: { displayName: name, plan: 'free', ...spec },
        },
      })) as Tenant;
    },
    async getTenant(name) {
      try {
        return (await custom.getClusterCustomObject({ ...ref, name })) as Tenant;
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async patchTenantSpec(name, spec) {
      const { PatchStrategy, setHeaderOptions } = await import('@kubernetes/client-node');
      await custom.patchClusterCustomObject(
        { ...ref, name, body: { spec } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    },
    async deleteTenant(name) {
      try {
        await custom.deleteClusterCustomObject({ ...ref, name });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },
    async condition(name, type) {
      return (await harness.getTenant(name))?.status?.conditions?.find((c) => c.type === type);
    },
    async stop() {
      // Tenants left behind would keep their finalizer forever once this operator is gone.
      for (const name of created) await harness.deleteTenant(name);
      const deadline = Date.now() + 30_000;
      for (const name of created) {
        while ((await harness.getTenant(name)) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 200));
      }
      await operator.stop();
    },
  };
  return harness;
}
