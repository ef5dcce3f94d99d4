import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  AppsV1Api,
  RbacAuthorizationV1Api,
  type V1Container,
  type V1Deployment,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import { test, uniqueName } from '@tenantry/devstack/testing';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { isMap, type Node, parse, parseDocument } from 'yaml';
import {
  type ChartWorkspace,
  createChartWorkspace,
  type KubeObject,
  parseObjects,
  REPO_ROOT,
} from './chart-workspace.ts';

const CHARTS = ['common', 'tenant-operator', 'tenantry'] as const;
const UMBRELLA = 'charts/tenantry';
const OPERATOR = 'charts/tenant-operator';
const CI_DIR = join(REPO_ROOT, UMBRELLA, 'ci');
const CI_FILES = readdirSync(CI_DIR)
  .filter((file) => file.endsWith('-values.yaml'))
  .sort();
/** Default values, then every ci/*-values.yaml: each is rendered, validated and checked the same way. */
const SCENARIOS = [
  { name: 'default values', args: [] as string[] },
  ...CI_FILES.map((file) => ({ name: `ci/${file}`, args: ['--values', `${UMBRELLA}/ci/${file}`] })),
];
const SERVICEMONITOR_CRD = join(REPO_ROOT, 'packages/charts-tests/fixtures/servicemonitor-crd.yaml');
// The field manager of the operator's own CRD installer (operators/tenant-operator/src/crds.ts): the
// same owner, so applying the CRDs here never conflicts with the operator's tests doing it too.
const CRD_FIELD_MANAGER = 'tenantry';
/** Every object checked by the API server itself (schemas, CEL rules, admission), nothing stored. */
const SERVER_DRY_RUN = [
  'apply',
  '--dry-run=server',
  '--server-side',
  '--validate=strict',
  '--field-manager=tenantry-charts-tests',
  '--filename',
  '-',
];

const repoFile = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const rulesOf = (path: string) => (parse(repoFile(path)) as { rules: V1PolicyRule[] }).rules;

/** The one object of a kind that belongs to the operator chart (other charts render their own). */
function only(objects: KubeObject[], kind: string): KubeObject {
  const found = objects.filter(
    (object) =>
      object.kind === kind && object.metadata.labels?.['app.kubernetes.io/name'] === 'tenant-operator',
  );
  expect(
    found.map((object) => object.metadata.name),
    `exactly one ${kind} of the operator`,
  ).toHaveLength(1);
  return found[0] as KubeObject;
}

function operatorDeployment(objects: KubeObject[]): V1Deployment {
  return only(objects, 'Deployment') as unknown as V1Deployment;
}

function containersOf(deployment: V1Deployment): V1Container[] {
  const spec = deployment.spec?.template.spec;
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

let charts: ChartWorkspace;

beforeAll(async () => {
  charts = await createChartWorkspace();
  // The operator chart first: the umbrella packages it together with its own built dependencies.
  await charts.helm(['dependency', 'build', OPERATOR]);
  await charts.helm(['dependency', 'build', UMBRELLA]);
  // The CRDs the rendered objects need on the API server: Tenantry's, and a stand-in ServiceMonitor.
  await charts.kubectl([
    'apply',
    '--server-side',
    '--force-conflicts',
    `--field-manager=${CRD_FIELD_MANAGER}`,
    '--filename',
    'crds/',
  ]);
  await charts.kubectl([
    'apply',
    '--server-side',
    '--field-manager=tenantry-charts-tests',
    '--filename',
    SERVICEMONITOR_CRD,
  ]);
  await charts.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/tenants.tenantry.dev',
    'crd/plans.tenantry.dev',
    'crd/servicemonitors.monitoring.coreos.com',
  ]);
});

afterAll(async () => {
  await charts?.dispose();
});

describe('chart sources', () => {
  test('dependencies are local charts, built by helm dependency build without any repository', () => {
    for (const chart of CHARTS) {
      const { dependencies = [] } = parse(repoFile(`charts/${chart}/Chart.yaml`)) as {
        dependencies?: { repository: string }[];
      };
      for (const dependency of dependencies) expect(dependency.repository).toMatch(/^file:\/\/\.\.\//);
    }
    const built = readdirSync(join(charts.root, UMBRELLA, 'charts')).sort();
    expect(built).toEqual(['common-0.1.0.tgz', 'tenant-operator-0.1.0.tgz']);
  });

  test('CRDs, RBAC rules and default plans are symlinks to their one source, not copies', () => {
    const links = {
      'charts/tenantry/crds': '../../crds',
      'charts/tenant-operator/files/rbac': '../../../operators/tenant-operator/config/rbac',
      'charts/tenant-operator/files/default-plans.yaml':
        '../../../operators/tenant-operator/config/default-plans.yaml',
    };
    for (const [path, target] of Object.entries(links)) {
      expect(lstatSync(join(REPO_ROOT, path)).isSymbolicLink(), `${path} is a symlink`).toBe(true);
      expect(readlinkSync(join(REPO_ROOT, path))).toBe(target);
    }
  });

  test('named templates live in the common library, each with a usage comment', () => {
    const templatesOf = (chart: string) =>
      readdirSync(join(REPO_ROOT, 'charts', chart, 'templates')).map((file) =>
        repoFile(`charts/${chart}/templates/${file}`),
      );
    for (const chart of CHARTS.filter((name) => name !== 'common')) {
      for (const source of templatesOf(chart)) expect(source).not.toMatch(/\{\{-?\s*define\b/);
    }
    const library = templatesOf('common').join('\n');
    const defined = [...library.matchAll(/\{\{-? define "([^"]+)"/g)].map((m) => m[1]);
    const documented = [
      ...library.matchAll(/\{\{\/\*((?:(?!\*\/\}\})[\s\S])*)\*\/\}\}\s*\{\{-? define "([^"]+)"/g),
    ]
      .filter(([, comment = '', name]) => comment.includes('Usage:') && comment.includes(`include "${name}"`))
      .map((m) => m[2]);
    expect(defined.length).toBeGreaterThan(10);
    expect(documented).toEqual(defined);
  });

  test('helm lint --strict passes for every chart and for every umbrella scenario', async () => {
    for (const chart of CHARTS) {
      await expect(charts.helm(['lint', '--strict', `charts/${chart}`])).resolves.toContain(
        '0 chart(s) failed',
      );
    }
    for (const { args } of SCENARIOS) {
      await expect(charts.helm(['lint', '--strict', UMBRELLA, ...args])).resolves.toContain(
        '0 chart(s) failed',
      );
    }
  });

  test('the umbrella has the scenario files the issue asks for', () => {
    expect(CI_FILES).toEqual(
      expect.arrayContaining([
        'minimal-values.yaml',
        'ha-values.yaml',
        'servicemonitor-values.yaml',
        'tls-values.yaml',
      ]),
    );
  });
});

interface JsonSchema {
  $schema?: string;
  $ref?: string;
  type?: string | string[];
  description?: string;
  additionalProperties?: boolean | JsonSchema;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
}

/**
 * Where a schema is not closed and described: every node needs a description (a $ref is described
 * where it points) and every object either `additionalProperties: false` or, for a free-form map
 * such as annotations, a schema for its values. `delegated` objects are validated by a subchart's own
 * schema, which Helm applies to them.
 */
function schemaProblems(schema: JsonSchema, path: string, delegated: readonly string[]): string[] {
  if (schema.$ref) return [];
  const problems: string[] = [];
  if (!schema.description?.trim()) problems.push(`${path}: no description`);
  const types = [schema.type ?? []].flat();
  if (types.includes('object') && !delegated.includes(path)) {
    const closed = schema.additionalProperties === false || typeof schema.additionalProperties === 'object';
    if (!closed) problems.push(`${path}: additionalProperties is neither false nor a schema`);
  }
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    problems.push(...schemaProblems(property, `${path}.${key}`, delegated));
  }
  if (schema.items) problems.push(...schemaProblems(schema.items, `${path}[]`, delegated));
  return problems;
}

/**
 * Keys of a values.yaml with no comment right above them. The parser attaches the comment above the
 * first key of a nested map to the map itself, so that one is the map's.
 */
function undocumentedKeys(node: Node | null | undefined, path: string): string[] {
  if (!isMap(node)) return [];
  return node.items.flatMap((pair, index) => {
    const key = pair.key as Node & { value?: unknown };
    const name = `${path}${String(key.value)}`;
    const comment = key.commentBefore ?? (index === 0 ? node.commentBefore : undefined);
    const own = comment?.trim() ? [] : [name];
    return [...own, ...undocumentedKeys(pair.value as Node, `${name}.`)];
  });
}

describe('values and schemas', () => {
  test.for(CHARTS)('%s: values.schema.json is draft-07, closed and described at every level', (chart) => {
    const schema = JSON.parse(repoFile(`charts/${chart}/values.schema.json`)) as JsonSchema;
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    // The umbrella hands tenant-operator.* to the operator chart, whose own schema closes it.
    const delegated = chart === 'tenantry' ? ['$.tenant-operator'] : [];
    expect(schemaProblems(schema, '$', delegated)).toEqual([]);
  });

  test.for(CHARTS)('%s: values.yaml points at its schema and documents every key', (chart) => {
    const source = repoFile(`charts/${chart}/values.yaml`);
    expect(source.split('\n')[0]).toBe('# yaml-language-server: $schema=values.schema.json');
    const document = parseDocument(source);
    expect(document.errors).toEqual([]);
    expect(undocumentedKeys(document.contents, '')).toEqual([]);
  });

  test('the global block is one contract: the same schema and defaults in every chart', () => {
    const schemas = CHARTS.map(
      (chart) =>
        (JSON.parse(repoFile(`charts/${chart}/values.schema.json`)) as JsonSchema).properties?.global,
    );
    expect(schemas[0]).toBeDefined();
    for (const schema of schemas) expect(schema).toEqual(schemas[0]);
    const defaults = ['tenant-operator', 'tenantry'].map(
      (chart) => (parse(repoFile(`charts/${chart}/values.yaml`)) as { global: unknown }).global,
    );
    expect(defaults[0]).toEqual(defaults[1]);
  });

  test.for([
    { set: 'unknownKey=1', error: "additional properties 'unknownKey' not allowed" },
    { set: 'tenant-operator.unknownKey=1', error: "additional properties 'unknownKey' not allowed" },
    { set: 'tenant-operator.image.unknownKey=x', error: "additional properties 'unknownKey' not allowed" },
    { set: 'global.postgres.unknownKey=x', error: "additional properties 'unknownKey' not allowed" },
    { set: 'global.kafka.brokers=no-port', error: 'does not match pattern' },
    { set: 'global.baseDomain=Not_A_Domain', error: 'does not match pattern' },
    { set: 'tenant-operator.resources.limits=null', error: "missing property 'limits'" },
    { set: 'tenant-operator.securityContext.runAsUser=0', error: 'minimum' },
    // Two replicas without leader election would both reconcile every tenant.
    { set: 'tenant-operator.operator.leaderElection.enabled=false', error: 'maximum' },
  ])('the schemas refuse --set $set', async ({ set, error }) => {
    await expect(charts.helm(['template', 'refused', UMBRELLA, '--set', set])).rejects.toThrow(error);
  });
});

describe('rendered output', () => {
  test.for(SCENARIOS)(
    '$name: every object is accepted by the API server (server-side dry run)',
    async ({ args }, { namespace }) => {
      const manifest = await charts.helm([
        'template',
        uniqueName('dry'),
        UMBRELLA,
        '--namespace',
        namespace,
        ...args,
      ]);
      const objects = parseObjects(manifest);
      expect(objects.length).toBeGreaterThan(0);
      const applied = await charts.kubectl(SERVER_DRY_RUN, manifest);
      expect(applied.trim().split('\n')).toHaveLength(objects.length);
    },
  );

  test('the operator chart on its own renders objects the API server accepts', async ({ namespace }) => {
    const manifest = await charts.helm(['template', uniqueName('op'), OPERATOR, '--namespace', namespace]);
    await charts.kubectl(SERVER_DRY_RUN, manifest);
  });

  test('the chart ships the repository crds/ unchanged', async () => {
    const repoCrds = readdirSync(join(REPO_ROOT, 'crds'))
      .filter((file) => file.endsWith('.yaml'))
      .sort()
      .flatMap((file) => parseObjects(repoFile(`crds/${file}`)));
    expect(repoCrds.map((crd) => crd.metadata.name)).toEqual(['plans.tenantry.dev', 'tenants.tenantry.dev']);
    const withCrds = await charts.render(UMBRELLA, 'crds', 'crds', ['--include-crds']);
    expect(withCrds.filter((object) => object.kind === 'CustomResourceDefinition')).toEqual(repoCrds);
  });

  test("the ClusterRole's and Role's rules are the ones the operator's tests prove", async () => {
    const release = uniqueName('rbac');
    const objects = await charts.render(UMBRELLA, release, 'platform');
    const clusterRole = only(objects, 'ClusterRole') as KubeObject & { rules: unknown };
    const role = only(objects, 'Role') as KubeObject & { rules: unknown };
    expect(clusterRole.rules).toEqual(rulesOf('operators/tenant-operator/config/rbac/cluster-role.yaml'));
    expect(role.rules).toEqual(rulesOf('operators/tenant-operator/config/rbac/role.yaml'));
    // Cluster-scoped names carry the release: two releases never share (or delete) each other's.
    expect(clusterRole.metadata.name).toContain(release);
    expect(role.metadata.namespace).toBe('platform');
    const serviceAccount = only(objects, 'ServiceAccount').metadata.name;
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      const binding = only(objects, kind) as KubeObject & { roleRef: { name: string }; subjects: unknown };
      expect(binding.roleRef.name).toBe(clusterRole.metadata.name);
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: serviceAccount, namespace: 'platform' },
      ]);
    }
    expect(operatorDeployment(objects).spec?.template.spec?.serviceAccountName).toBe(serviceAccount);
  });

  test('the default Plans are config/default-plans.yaml, kept on uninstall, and can be left out', async () => {
    const source = parseObjects(repoFile('operators/tenant-operator/config/default-plans.yaml'));
    const plans = (await charts.render(UMBRELLA, 'plans', 'platform')).filter(
      (object) => object.kind === 'Plan',
    );
    expect(plans.map(({ metadata, spec }) => ({ name: metadata.name, spec }))).toEqual(
      source.map(({ metadata, spec }) => ({ name: metadata.name, spec })),
    );
    for (const plan of plans) expect(plan.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    const without = await charts.render(UMBRELLA, 'plans', 'platform', [
      '--set',
      'tenant-operator.plans.installDefaults=false',
    ]);
    expect(without.filter((object) => object.kind === 'Plan')).toEqual([]);
  });

  test('the Deployment sets every variable the operator reads, and no other', async () => {
    const config = repoFile('operators/tenant-operator/src/config.ts');
    const read = new Set(
      [...config.matchAll(/\benv\.([A-Z][A-Z0-9_]*)|\(env, '([A-Z][A-Z0-9_]*)'/g)].map(
        (m) => m[1] ?? m[2] ?? '',
      ),
    );
    expect(read).toContain('POSTGRES_ADMIN_URL');
    expect(read).toContain('KAFKA_BROKERS');
    const envOf = async (args: string[]) => {
      const [container] = containersOf(
        operatorDeployment(await charts.render(UMBRELLA, 'env', 'platform', args)),
      );
      return container?.env ?? [];
    };
    const full = await envOf([
      '--set',
      'global.postgres.publicHost=pg.example.com,global.postgres.publicPort=6432',
      '--set',
      'tenant-operator.operator.tenantSelector=tenantry.dev/shard=a',
    ]);
    expect(new Set(full.map((variable) => variable.name))).toEqual(read);
    // Left unset rather than empty, so the operator falls back to the admin URL's host and port.
    const defaults = new Set((await envOf([])).map((variable) => variable.name));
    expect([...read].filter((name) => !defaults.has(name)).sort()).toEqual([
      'POSTGRES_PUBLIC_HOST',
      'POSTGRES_PUBLIC_PORT',
    ]);
    const byName = new Map(full.map((variable) => [variable.name, variable]));
    expect(byName.get('TENANTRY_NAMESPACE')?.value).toBe('platform');
    expect(byName.get('POSTGRES_PUBLIC_PORT')?.value).toBe('6432');
    expect(byName.get('POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    // The admin URL only ever comes from an existing Secret; the chart renders no Secret of its own.
    expect(byName.get('POSTGRES_ADMIN_URL')).toEqual({
      name: 'POSTGRES_ADMIN_URL',
      valueFrom: { secretKeyRef: { name: 'tenantry-postgres-admin', key: 'uri' } },
    });
  });

  test.for(SCENARIOS)(
    '$name: every workload runs non-root, read-only, unprivileged, probed and limited',
    async ({ args }) => {
      const objects = await charts.render(UMBRELLA, 'hardening', 'platform', args);
      expect(objects.filter((object) => object.kind === 'Secret')).toEqual([]);
      const workloads = objects.filter((object) => object.kind === 'Deployment') as unknown as V1Deployment[];
      expect(workloads.length).toBeGreaterThan(0);
      for (const workload of workloads) {
        const pod = workload.spec?.template.spec;
        expect(pod?.securityContext, workload.metadata?.name).toMatchObject({
          runAsNonRoot: true,
          seccompProfile: { type: 'RuntimeDefault' },
        });
        for (const container of containersOf(workload)) {
          const where = `${workload.metadata?.name}/${container.name}`;
          expect(container.securityContext, where).toMatchObject({
            runAsNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            privileged: false,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          });
          expect(container.securityContext?.runAsUser, where).toBeGreaterThan(0);
          for (const bounds of [container.resources?.limits, container.resources?.requests]) {
            expect(bounds, where).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
          }
          for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
            expect(probe?.httpGet?.path, where).toMatch(/^\//);
          }
        }
      }
      const [operator] = containersOf(operatorDeployment(objects));
      expect(operator?.ports?.map(({ name, containerPort }) => [name, containerPort])).toEqual([
        ['metrics', 8080],
        ['probes', 8081],
      ]);
      expect(operator?.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'probes' });
      expect(operator?.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'probes' });
    },
  );

  test('selectors are the same for every values set and carry neither chart nor version', async () => {
    const selectors = [];
    for (const { args } of SCENARIOS) {
      const objects = await charts.render(UMBRELLA, 'stable', 'platform', args);
      const deployment = operatorDeployment(objects);
      const selector = deployment.spec?.selector.matchLabels;
      selectors.push(selector);
      expect(deployment.spec?.template.metadata?.labels).toMatchObject(selector ?? {});
      const pdb = objects.find((object) => object.kind === 'PodDisruptionBudget') as
        | (KubeObject & { spec: { selector: unknown } })
        | undefined;
      if (pdb) expect(pdb.spec.selector).toEqual({ matchLabels: selector });
      const service = only(objects, 'Service') as KubeObject & { spec: { selector: unknown } };
      expect(service.spec.selector).toEqual(selector);
    }
    expect(selectors[0]).toEqual({
      'app.kubernetes.io/name': 'tenant-operator',
      'app.kubernetes.io/instance': 'stable',
    });
    for (const selector of selectors) expect(selector).toEqual(selectors[0]);
  });

  test('scenario switches: ServiceMonitor, TLS, single replica without leader election, operator off', async () => {
    const monitored = await charts.render(UMBRELLA, 'sm', 'platform', [
      '--values',
      `${UMBRELLA}/ci/servicemonitor-values.yaml`,
    ]);
    const monitor = only(monitored, 'ServiceMonitor') as KubeObject & { spec: { endpoints: unknown } };
    expect(monitor.metadata.labels?.release).toBe('kube-prometheus-stack');
    expect(monitor.spec.endpoints).toEqual([
      { port: 'metrics', path: '/metrics', interval: '15s', scrapeTimeout: '10s' },
    ]);
    const plain = await charts.render(UMBRELLA, 'sm', 'platform');
    expect(plain.filter((object) => object.kind === 'ServiceMonitor')).toEqual([]);

    const tls = operatorDeployment(
      await charts.render(UMBRELLA, 'tls', 'platform', ['--values', `${UMBRELLA}/ci/tls-values.yaml`]),
    );
    const env = new Map(containersOf(tls)[0]?.env?.map((variable) => [variable.name, variable.value]));
    expect(env.get('TENANTRY_TLS_SECRET')).toBe('tenantry-wildcard-tls');
    expect(env.get('TENANTRY_INGRESS_CLASS')).toBe('nginx');
    expect(containersOf(tls)[0]?.image).toBe('registry.example.com/tenantry/tenant-operator:0.1.0');
    expect(tls.spec?.template.spec?.imagePullSecrets).toEqual([{ name: 'registry-credentials' }]);

    const single = operatorDeployment(
      await charts.render(UMBRELLA, 'single', 'platform', [
        '--set',
        'tenant-operator.replicaCount=1,tenant-operator.operator.leaderElection.enabled=false',
      ]),
    );
    expect(single.spec?.strategy).toEqual({ type: 'Recreate' });

    const off = await charts.render(UMBRELLA, 'off', 'platform', ['--set', 'tenant-operator.enabled=false']);
    expect(off).toEqual([]);
  });
});

describe('on the API server', () => {
  test('the umbrella installs, upgrades with changed values and uninstalls', async ({ namespace, kube }) => {
    const release = uniqueName('tenantry');
    // The default Plans have fixed names that other test files apply on this shared server, so Helm
    // could not take ownership of them; their rendering is covered by the dry-run tests.
    const releaseArgs = [
      UMBRELLA,
      '--namespace',
      namespace,
      '--wait=false',
      '--set',
      'tenant-operator.plans.installDefaults=false',
    ];
    const apps = kube.makeApiClient(AppsV1Api);
    const rbac = kube.makeApiClient(RbacAuthorizationV1Api);
    const name = `${release}-tenant-operator`;
    try {
      const installed = await charts.helm(['install', release, ...releaseArgs]);
      expect(installed).toContain('STATUS: deployed');
      expect(installed).toContain(`deployment/${name}`);
      expect(installed).toContain('kubectl apply -f examples/tenants/acme.yaml');
      expect(installed).toContain('kubectl wait --for=condition=Ready tenant/acme');

      const before = await apps.readNamespacedDeployment({ name, namespace });
      const liveRole = await rbac.readClusterRole({ name });
      expect(liveRole.rules).toEqual(rulesOf('operators/tenant-operator/config/rbac/cluster-role.yaml'));

      // The API server refuses a Deployment whose (immutable) selector changes: this upgrade
      // succeeding is the proof that selectors are stable across upgrades.
      const upgraded = await charts.helm([
        'upgrade',
        release,
        ...releaseArgs,
        '--values',
        `${UMBRELLA}/ci/ha-values.yaml`,
        '--set',
        'tenant-operator.operator.logLevel=debug,global.baseDomain=upgraded.example.com',
      ]);
      expect(upgraded).toContain('REVISION: 2');
      expect(upgraded).toContain('http://acme.upgraded.example.com');
      const after = await apps.readNamespacedDeployment({ name, namespace });
      expect(after.spec?.selector).toEqual(before.spec?.selector);
      expect(after.spec?.replicas).toBe(3);
      const env = after.spec?.template.spec?.containers[0]?.env ?? [];
      expect(env.find((variable) => variable.name === 'LOG_LEVEL')?.value).toBe('debug');
    } finally {
      // A failed uninstall shows in the assertions below; it must not hide why the test failed.
      await charts.helm(['uninstall', release, '--namespace', namespace]).catch(() => undefined);
    }
    // Cluster-scoped objects go with the release.
    await expect(rbac.readClusterRole({ name })).rejects.toMatchObject({ code: 404 });
    await expect(rbac.readClusterRoleBinding({ name })).rejects.toMatchObject({ code: 404 });
  });

  test('NOTES render for the operator chart on its own and for the umbrella without the operator', async ({
    namespace,
  }) => {
    const standalone = await charts.helm([
      'install',
      uniqueName('notes'),
      OPERATOR,
      '--namespace',
      namespace,
      '--dry-run=client',
      '--set',
      'plans.installDefaults=false',
    ]);
    expect(standalone).toContain('kubectl apply -f crds/');
    expect(standalone).toContain('kubectl wait --for=condition=Ready tenant/acme');
    const disabled = await charts.helm([
      'install',
      uniqueName('notes'),
      UMBRELLA,
      '--namespace',
      namespace,
      '--dry-run=client',
      '--set',
      'tenant-operator.enabled=false',
    ]);
    expect(disabled).toContain('The tenant operator is disabled');
  });
});
