import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  type KubeConfig,
  RbacAuthorizationV1Api,
  type V1Container,
  type V1Deployment,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import { test, uniqueName } from '@tenantry/devstack/testing';
import { services as registeredServices, routedServices } from '@tenantry/service-registry';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { isMap, type Node, parse, parseDocument, stringify } from 'yaml';
import {
  type ChartWorkspace,
  createChartWorkspace,
  type KubeObject,
  parseObjects,
  REPO_ROOT,
} from './chart-workspace.ts';

const builtServices = registeredServices.filter((service) => service.built);
/** The HTTP service charts (the registry's built services): one shape, rendered by the same helpers. */
const SERVICES = builtServices.map((service) => service.name);
type ServiceChart = string;
const CHARTS = ['common', 'tenant-operator', ...SERVICES, 'tenantry'] as const;
const UMBRELLA = 'charts/tenantry';
const OPERATOR = 'charts/tenant-operator';
/** Each service: its port, the config module whose variables the chart must set, its liveness path. */
const SERVICE_FACTS: Record<ServiceChart, { port: number; config: string; livenessPath: string }> =
  Object.fromEntries(
    builtServices.map((service) => [
      service.name,
      {
        port: service.port,
        config: `services/${service.name}/src/config.ts`,
        // The gateway's /health checks no dependency; the tenant services' report Kafka (deployment.yaml).
        livenessPath: service.name === 'gateway' ? '/health' : '/livez',
      },
    ]),
  );
/** Each service's credentials: its Deployment takes them from a Secret, never from values. */
const SECRET_VARIABLES: Record<string, string[]> = {
  chat: ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GEMINI_API_KEY'],
  billing: ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'],
  notifications: ['UNSUBSCRIBE_SECRET'],
  analytics: ['CLICKHOUSE_URL'],
};
/** Credentials a Deployment sets only when their Secret is configured. */
const OPTIONAL_SECRET_VARIABLES: Record<string, string[]> = { notifications: ['SMTP_USER', 'SMTP_PASSWORD'] };
function factsOf(service: string) {
  const facts = SERVICE_FACTS[service];
  if (!facts) throw new Error(`${service} is not a built service of the registry`);
  return facts;
}
/** auth's rules: the operator's tenant Secrets (database credentials, private signing keys), read only. */
const TENANT_SECRETS_RULES: V1PolicyRule[] = [
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
];
/** The operator's rules in the keys namespace, from the file its integration tests run with. */
const OPERATOR_KEYS_ROLE = 'operators/tenant-operator/config/rbac/keys-role.yaml';
/**
 * auth's rules in the keys namespace: the private signing keys, read only. No other service has any
 * rule there: RBAC cannot narrow a list or watch of Secrets by name, so a grant there to users or the
 * gateway would hand them every tenant's signing key.
 */
const AUTH_KEYS_RULES: V1PolicyRule[] = [
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
];
/** The keys namespace of a release whose global.keysNamespace.name is left empty. */
const keysNamespaceOf = (namespace: string) => `${namespace}-keys`;
/** users' rules: the database credentials Secrets, and the public keys ConfigMaps to verify tokens. */
const USERS_RULES: V1PolicyRule[] = [
  ...TENANT_SECRETS_RULES,
  { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch'] },
];
/** The six alerts of BRIEF section 7. */
const ALERTS = [
  'TenantryHighErrorRate',
  'TenantryHighLatencyP99',
  'TenantryServiceDown',
  'TenantryDatabasePoolExhausted',
  'TenantryConsumerLagHigh',
  'TenantryMemoryNearLimit',
];
const CI_DIR = join(REPO_ROOT, UMBRELLA, 'ci');
const CI_FILES = readdirSync(CI_DIR)
  .filter((file) => file.endsWith('-values.yaml'))
  .sort();
/** Default values, then every ci/*-values.yaml: each is rendered, validated and checked the same way. */
const SCENARIOS = [
  { name: 'default values', args: [] as string[] },
  ...CI_FILES.map((file) => ({ name: `ci/${file}`, args: ['--values', `${UMBRELLA}/ci/${file}`] })),
];
/** Stand-ins for prometheus-operator's CRDs, with schemas that are subsets of the real ones. */
const MONITORING_CRDS = ['servicemonitor-crd.yaml', 'prometheusrule-crd.yaml'].map((file) =>
  join(REPO_ROOT, 'packages/charts-tests/fixtures', file),
);
// The field manager of the operator's own CRD installer (operators/tenant-operator/src/apply-manifests.ts): the
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
/** The rules of the document of one kind in a multi-document RBAC file. */
const rulesOfKind = (path: string, kind: string) =>
  (parseObjects(repoFile(path)) as (KubeObject & { rules: V1PolicyRule[] })[]).find(
    (object) => object.kind === kind,
  )?.rules;

/** A NetworkPolicy as rendered (the client's model names `from` `_from`). */
interface NetworkPolicy extends KubeObject {
  spec: {
    podSelector: unknown;
    policyTypes: string[];
    ingress?: { from?: unknown[]; ports?: unknown[] }[];
  };
}

/** The objects of a kind that belong to one chart (by its app.kubernetes.io/name label). */
function ofChart(objects: KubeObject[], kind: string, chart: string): KubeObject[] {
  return objects.filter(
    (object) => object.kind === kind && object.metadata.labels?.['app.kubernetes.io/name'] === chart,
  );
}

/** The one object of a kind that belongs to a chart (the operator's by default). */
function only(objects: KubeObject[], kind: string, chart = 'tenant-operator'): KubeObject {
  const found = ofChart(objects, kind, chart);
  expect(
    found.map((object) => object.metadata.name),
    `exactly one ${kind} of ${chart}`,
  ).toHaveLength(1);
  return found[0] as KubeObject;
}

/** The objects rendered into one namespace. */
function inNamespace(objects: KubeObject[], namespace: string): KubeObject[] {
  return objects.filter((object) => object.metadata.namespace === namespace);
}

/**
 * Creates a namespace unless it exists. The umbrella creates the keys namespace before its other
 * objects when Helm installs it, but a server-side dry run stores nothing, so the Roles placed there
 * need it to exist beforehand.
 */
async function ensureNamespace(kube: KubeConfig, name: string): Promise<void> {
  try {
    await kube.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
  }
}

function operatorDeployment(objects: KubeObject[]): V1Deployment {
  return only(objects, 'Deployment') as unknown as V1Deployment;
}

function deploymentOf(objects: KubeObject[], chart: string): V1Deployment {
  return only(objects, 'Deployment', chart) as unknown as V1Deployment;
}

/**
 * The environment variables a program's config module reads: the keys of its TypeBox schema, plus
 * those of @tenantry/service-runtime's tenantServiceEnv when it spreads them in.
 */
function variablesReadBy(configModule: string): Set<string> {
  const keysOf = (source: string) => [...source.matchAll(/^\s+([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1] ?? '');
  const source = repoFile(configModule);
  const read = new Set(keysOf(source));
  if (source.includes('tenantServiceEnv(')) {
    for (const name of keysOf(repoFile('packages/service-runtime/src/settings.ts'))) read.add(name);
  }
  // The gateway's `<SERVICE>_URL`, one per routed service of the registry.
  if (source.includes('...upstreamVariables()')) {
    for (const service of routedServices) read.add(`${service.name.toUpperCase()}_URL`);
  }
  return read;
}

/** The enabled services of a scenario: those whose Deployment it renders. */
function enabledServices(objects: KubeObject[]): ServiceChart[] {
  return SERVICES.filter((service) => ofChart(objects, 'Deployment', service).length > 0);
}

function containersOf(deployment: V1Deployment): V1Container[] {
  const spec = deployment.spec?.template.spec;
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

let charts: ChartWorkspace;

beforeAll(async () => {
  charts = await createChartWorkspace();
  // The subcharts first, so each can also be linted and rendered on its own; then the umbrella.
  for (const chart of [OPERATOR, ...SERVICES.map((service) => `charts/${service}`)]) {
    await charts.helm(['dependency', 'build', chart]);
  }
  await charts.helm(['dependency', 'build', UMBRELLA]);
  // The CRDs the rendered objects need on the API server: Tenantry's, and stand-ins for the
  // ServiceMonitor and PrometheusRule of prometheus-operator.
  await charts.kubectl([
    'apply',
    '--server-side',
    '--force-conflicts',
    `--field-manager=${CRD_FIELD_MANAGER}`,
    '--filename',
    'crds/',
  ]);
  for (const crd of MONITORING_CRDS) {
    await charts.kubectl([
      'apply',
      '--server-side',
      '--force-conflicts',
      '--field-manager=tenantry-charts-tests',
      '--filename',
      crd,
    ]);
  }
  await charts.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/tenants.tenantry.dev',
    'crd/plans.tenantry.dev',
    'crd/servicemonitors.monitoring.coreos.com',
    'crd/prometheusrules.monitoring.coreos.com',
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
    const umbrella = parse(repoFile(`${UMBRELLA}/Chart.yaml`)) as {
      dependencies: { name: string; version: string; condition?: string }[];
    };
    const built = readdirSync(join(charts.root, UMBRELLA, 'charts')).sort();
    expect(built).toEqual(umbrella.dependencies.map(({ name, version }) => `${name}-${version}.tgz`).sort());
    // Every component is a subchart of the umbrella, gated by <name>.enabled.
    for (const chart of ['tenant-operator', ...SERVICES]) {
      const dependency = umbrella.dependencies.find(({ name }) => name === chart);
      expect(dependency?.condition, chart).toBe(`${chart}.enabled`);
      const { version } = parse(repoFile(`charts/${chart}/Chart.yaml`)) as { version: string };
      expect(dependency?.version, chart).toBe(version);
    }
  });

  test('CRDs, RBAC rules and default plans are symlinks to their one source, not copies', () => {
    const links = {
      'charts/tenantry/crds': '../../crds',
      'charts/tenant-operator/files/rbac': '../../../operators/tenant-operator/config/rbac',
      'charts/tenant-operator/files/default-plans.yaml':
        '../../../operators/tenant-operator/config/default-plans.yaml',
      'charts/gateway/files/rbac.yaml': '../../../services/gateway/config/rbac.yaml',
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

  test('every service chart has the same shape: the same templates, each a call of library helpers', () => {
    const templates = (chart: string) => readdirSync(join(REPO_ROOT, 'charts', chart, 'templates')).sort();
    const shape = templates(SERVICES[0] ?? 'gateway');
    expect(shape).toEqual(
      expect.arrayContaining([
        'deployment.yaml',
        'service.yaml',
        'serviceaccount.yaml',
        'role.yaml',
        'rolebinding.yaml',
        'clusterrole.yaml',
        'clusterrolebinding.yaml',
        'poddisruptionbudget.yaml',
        'horizontalpodautoscaler.yaml',
        'networkpolicy.yaml',
        'servicemonitor.yaml',
        'NOTES.txt',
      ]),
    );
    // auth alone also has a Role and RoleBinding in the keys namespace (it signs tokens with the
    // private keys there); no other service chart has, or may have, any template for it.
    const keysTemplates = ['keys-role.yaml', 'keys-rolebinding.yaml'];
    expect(shape.filter((file) => keysTemplates.includes(file))).toEqual([]);
    for (const service of SERVICES) {
      const expected = service === 'auth' ? [...shape, ...keysTemplates].sort() : shape;
      expect(templates(service), service).toEqual(expected);
      for (const file of expected.filter((name) => name.endsWith('.yaml'))) {
        const source = repoFile(`charts/${service}/templates/${file}`);
        // No object written out by hand: the template ends in one include of a common helper.
        expect(source, `${service}/${file}`).not.toMatch(/^apiVersion:/m);
        expect(source.trim(), `${service}/${file}`).toMatch(/\{\{-? include "common\.[\w.]+" [^\n]*\}\}$/);
      }
    }
    // Where nothing is service-specific, the templates are the very same file.
    for (const file of [
      'service.yaml',
      'serviceaccount.yaml',
      'poddisruptionbudget.yaml',
      'horizontalpodautoscaler.yaml',
      'servicemonitor.yaml',
      'rolebinding.yaml',
      'clusterrolebinding.yaml',
    ]) {
      const sources = SERVICES.map((service) => repoFile(`charts/${service}/templates/${file}`));
      for (const source of sources) expect(source, file).toBe(sources[0]);
    }
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
        'all-services-values.yaml',
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
    // The umbrella hands <subchart>.* to each subchart, whose own schema closes it.
    const delegated = chart === 'tenantry' ? ['tenant-operator', ...SERVICES].map((name) => `$.${name}`) : [];
    expect(schemaProblems(schema, '$', delegated)).toEqual([]);
  });

  test.for(CHARTS)('%s: values.yaml points at its schema and documents every key', (chart) => {
    const source = repoFile(`charts/${chart}/values.yaml`);
    expect(source.split('\n')[0]).toBe('# yaml-language-server: $schema=values.schema.json');
    const document = parseDocument(source);
    expect(document.errors).toEqual([]);
    expect(undocumentedKeys(document.contents, '')).toEqual([]);
  });

  // The schema of the global block is one fragment (charts/common/schema/global.json) composed into
  // every chart's values.schema.json (chart-schemas.test.ts); its defaults are written in each
  // values.yaml, so they are compared here.
  test('the global defaults are one contract: the same in every values.yaml', () => {
    const defaults = CHARTS.filter((chart) => chart !== 'common').map(
      (chart) => (parse(repoFile(`charts/${chart}/values.yaml`)) as { global: unknown }).global,
    );
    for (const values of defaults) expect(values).toEqual(defaults[0]);
  });

  test.for([
    { set: 'unknownKey=1', error: "additional properties 'unknownKey' not allowed" },
    { set: 'tenant-operator.unknownKey=1', error: "additional properties 'unknownKey' not allowed" },
    { set: 'tenant-operator.image.unknownKey=x', error: "additional properties 'unknownKey' not allowed" },
    { set: 'global.postgres.unknownKey=x', error: "additional properties 'unknownKey' not allowed" },
    { set: 'global.kafka.brokers=no-port', error: 'does not match pattern' },
    { set: 'global.baseDomain=Not_A_Domain', error: 'does not match pattern' },
    { set: 'global.keysNamespace.name=Not_A_Namespace', error: 'does not match pattern' },
    { set: 'global.keysNamespace.unknownKey=x', error: "additional properties 'unknownKey' not allowed" },
    // The keys namespace exists to be out of the services' reach: never the release namespace.
    {
      set: 'global.keysNamespace.name=default',
      error: 'global.keysNamespace.name must differ from the release namespace default',
    },
    { set: 'tenant-operator.resources.limits=null', error: "missing property 'limits'" },
    { set: 'tenant-operator.securityContext.runAsUser=0', error: 'minimum' },
    // Two replicas without leader election would both reconcile every tenant.
    { set: 'tenant-operator.operator.leaderElection.enabled=false', error: 'maximum' },
    { set: 'gateway.unknownKey=1', error: "additional properties 'unknownKey' not allowed" },
    { set: 'auth.config.unknownKey=1', error: "additional properties 'unknownKey' not allowed" },
    { set: 'users.networkPolicy.unknownKey=1', error: "additional properties 'unknownKey' not allowed" },
    { set: 'auth.resources.limits=null', error: "missing property 'limits'" },
    { set: 'gateway.securityContext.runAsUser=0', error: 'minimum' },
    { set: 'auth.config.passwordHash.memoryKib=1024', error: 'minimum' },
    { set: 'gateway.config.upstreams.auth=auth:3001', error: 'does not match pattern' },
    { set: 'users.autoscaling.minReplicas=0', error: 'minimum' },
    { set: 'gateway.networkPolicy.extraFrom[0].podSelectr.matchLabels.a=b', error: 'not allowed' },
    // Secrets only ever come from existing Secrets: a secretEnv item has no value.
    {
      set: 'auth.secretEnv[0].name=API_KEY,auth.secretEnv[0].secretName=s,auth.secretEnv[0].key=k,auth.secretEnv[0].value=x',
      error: "additional properties 'value' not allowed",
    },
    {
      set: 'auth.secretEnv[0].name=LOG_LEVEL,auth.secretEnv[0].secretName=s,auth.secretEnv[0].key=k',
      error: "secretEnv: LOG_LEVEL is already set from the chart's config values",
    },
    {
      set: 'users.autoscaling.enabled=true,users.autoscaling.minReplicas=5,users.autoscaling.maxReplicas=2',
      error: 'autoscaling.minReplicas must not exceed autoscaling.maxReplicas',
    },
  ])('the schemas refuse --set $set', async ({ set, error }) => {
    await expect(charts.helm(['template', 'refused', UMBRELLA, '--set', set])).rejects.toThrow(error);
  });
});

describe('rendered output', () => {
  test.for(SCENARIOS)(
    '$name: every object is accepted by the API server (server-side dry run)',
    async ({ args }, { namespace, kube }) => {
      await ensureNamespace(kube, keysNamespaceOf(namespace));
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

  test.for([OPERATOR, ...SERVICES.map((service) => `charts/${service}`)])(
    '%s on its own renders objects the API server accepts',
    async (chart, { namespace, kube }) => {
      // A subchart on its own never creates the keys namespace (the umbrella does), so it is made
      // here for the two charts with a Role there. gateway and users go without it: anything they
      // rendered into it would be refused.
      if (chart === OPERATOR || chart === 'charts/auth')
        await ensureNamespace(kube, keysNamespaceOf(namespace));
      const manifest = await charts.helm(['template', uniqueName('alone'), chart, '--namespace', namespace]);
      expect(parseObjects(manifest).length).toBeGreaterThan(0);
      await charts.kubectl(SERVER_DRY_RUN, manifest);
    },
  );

  test('the stand-in monitoring CRDs check the spec: a field or value the real CRDs refuse is refused', async ({
    namespace,
  }) => {
    const monitored = await charts.render(UMBRELLA, 'crdcheck', namespace, [
      '--values',
      `${UMBRELLA}/ci/servicemonitor-values.yaml`,
    ]);
    for (const kind of ['ServiceMonitor', 'PrometheusRule']) {
      const object = monitored.find((candidate) => candidate.kind === kind) as KubeObject;
      await charts.kubectl(SERVER_DRY_RUN, stringify(object));
      const misspelled = structuredClone(object) as KubeObject & { spec: Record<string, unknown> };
      misspelled.spec.endpoint = [];
      await expect(charts.kubectl(SERVER_DRY_RUN, stringify(misspelled)), kind).rejects.toThrow(
        /\.spec\.endpoint: field not declared in schema/,
      );
    }
    const rule = monitored.find((object) => object.kind === 'PrometheusRule') as KubeObject & {
      spec: { groups: { rules: { for?: string }[] }[] };
    };
    const badDuration = structuredClone(rule);
    const [first] = badDuration.spec.groups[0]?.rules ?? [];
    if (first) first.for = '5 minutes';
    await expect(charts.kubectl(SERVER_DRY_RUN, stringify(badDuration))).rejects.toThrow(/should match/);
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
    const role = only(inNamespace(objects, 'platform'), 'Role') as KubeObject & { rules: unknown };
    expect(clusterRole.rules).toEqual(rulesOf('operators/tenant-operator/config/rbac/cluster-role.yaml'));
    expect(role.rules).toEqual(rulesOf('operators/tenant-operator/config/rbac/role.yaml'));
    // Cluster-scoped names carry the release: two releases never share (or delete) each other's.
    expect(clusterRole.metadata.name).toContain(release);
    expect(role.metadata.namespace).toBe('platform');
    const serviceAccount = only(objects, 'ServiceAccount').metadata.name;
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      const binding = only(
        kind === 'RoleBinding' ? inNamespace(objects, 'platform') : objects,
        kind,
      ) as KubeObject & { roleRef: { name: string }; subjects: unknown };
      expect(binding.roleRef.name).toBe(clusterRole.metadata.name);
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: serviceAccount, namespace: 'platform' },
      ]);
    }
    expect(operatorDeployment(objects).spec?.template.spec?.serviceAccountName).toBe(serviceAccount);
  });

  test('in the keys namespace, only the operator and auth have a Role, with their rules, bound to their accounts', async () => {
    const release = uniqueName('keys');
    const objects = await charts.render(UMBRELLA, release, 'platform');
    const keys = inNamespace(objects, 'platform-keys');
    const expected = {
      'tenant-operator': rulesOf(OPERATOR_KEYS_ROLE),
      auth: AUTH_KEYS_RULES,
    };
    // The operator's file grants what it writes there: the Secrets, nothing else.
    expect(expected['tenant-operator']).toEqual([
      {
        apiGroups: [''],
        resources: ['secrets'],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'],
      },
    ]);
    // auth's chart file says the same as this test.
    expect(rulesOf('charts/auth/files/keys-rbac.yaml')).toEqual(AUTH_KEYS_RULES);
    expect(keys.map(({ kind, metadata }) => `${kind} ${metadata.name}`).sort()).toEqual(
      [
        `Role ${release}-auth-keys`,
        `RoleBinding ${release}-auth-keys`,
        `Role ${release}-tenant-operator-keys`,
        `RoleBinding ${release}-tenant-operator-keys`,
      ].sort(),
    );
    for (const [chart, rules] of Object.entries(expected)) {
      const role = only(keys, 'Role', chart) as KubeObject & { rules: unknown };
      expect(role.rules, chart).toEqual(rules);
      // Not the name of the chart's Role in the release namespace.
      expect(role.metadata.name).not.toBe(
        only(inNamespace(objects, 'platform'), 'Role', chart).metadata.name,
      );
      const binding = only(keys, 'RoleBinding', chart) as KubeObject & {
        roleRef: unknown;
        subjects: unknown;
      };
      // The subject is the chart's ServiceAccount, which lives in the release namespace.
      expect({ roleRef: binding.roleRef, subjects: binding.subjects }, chart).toEqual({
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name },
        subjects: [
          {
            kind: 'ServiceAccount',
            name: only(objects, 'ServiceAccount', chart).metadata.name,
            namespace: 'platform',
          },
        ],
      });
    }
    // Both programs are told where it is.
    const envOf = (chart: string) =>
      new Map(containersOf(deploymentOf(objects, chart))[0]?.env?.map(({ name, value }) => [name, value]));
    expect(envOf('tenant-operator').get('KEYS_NAMESPACE')).toBe('platform-keys');
    expect(envOf('auth').get('KEYS_NAMESPACE')).toBe('platform-keys');
    for (const chart of ['gateway', 'users']) {
      expect(
        [...envOf(chart).keys()].filter((name) => name.includes('KEYS')),
        chart,
      ).toEqual([]);
    }
    // The gateway and users charts on their own: every namespaced object in the release namespace.
    for (const service of ['gateway', 'users']) {
      for (const { kind, metadata } of await charts.render(`charts/${service}`, release, 'platform')) {
        expect(metadata.namespace ?? 'platform', `${service} ${kind} ${metadata.name}`).toBe('platform');
      }
    }
    // rbac.create=false leaves them to the platform engineer, as it does the other Roles.
    const off = await charts.render(UMBRELLA, release, 'platform', [
      '--set',
      'tenant-operator.rbac.create=false,auth.rbac.create=false',
    ]);
    expect(inNamespace(off, 'platform-keys')).toEqual([]);
  });

  test.for(SCENARIOS)(
    "$name: nothing but the operator's and auth's RBAC is rendered outside the release namespace",
    async ({ args }) => {
      const objects = await charts.render(UMBRELLA, 'reach', 'platform', args);
      // Every namespaced object is in the release namespace, but for the operator's and auth's
      // Roles and RoleBindings in the keys namespace.
      const elsewhere = objects.filter(
        ({ metadata }) => metadata.namespace !== undefined && metadata.namespace !== 'platform',
      );
      expect(
        elsewhere
          .map(
            ({ kind, metadata }) =>
              `${metadata.namespace} ${metadata.labels?.['app.kubernetes.io/name']} ${kind}`,
          )
          .sort(),
      ).toEqual(
        [
          'platform-keys auth Role',
          'platform-keys auth RoleBinding',
          'platform-keys tenant-operator Role',
          'platform-keys tenant-operator RoleBinding',
        ].sort(),
      );
      // No binding anywhere hands users or the gateway a Role of the keys namespace.
      const keysBindings = inNamespace(objects, 'platform-keys').filter(({ kind }) => kind === 'RoleBinding');
      const subjects = keysBindings.flatMap(
        (binding) => (binding as KubeObject & { subjects: { name: string }[] }).subjects,
      );
      expect(subjects.map(({ name }) => name).sort()).toEqual(['reach-auth', 'reach-tenant-operator']);
    },
  );

  test('the umbrella creates the keys namespace, kept on uninstall; or not; under any name', async () => {
    const namespacesOf = (objects: KubeObject[]) => objects.filter(({ kind }) => kind === 'Namespace');
    const defaults = namespacesOf(await charts.render(UMBRELLA, 'keysns', 'platform'));
    expect(defaults.map(({ metadata }) => metadata.name)).toEqual(['platform-keys']);
    const [created] = defaults;
    // Deleting it would delete every tenant's signing key and owner credentials.
    expect(created?.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    expect(created?.metadata.labels).toMatchObject({
      'app.kubernetes.io/part-of': 'tenantry',
      'app.kubernetes.io/instance': 'keysns',
      'app.kubernetes.io/managed-by': 'Helm',
    });

    // Not created: the Roles still go there, and the programs are still told its name.
    const notCreated = await charts.render(UMBRELLA, 'keysns', 'platform', [
      '--set',
      'global.keysNamespace.create=false',
    ]);
    expect(namespacesOf(notCreated)).toEqual([]);
    expect(inNamespace(notCreated, 'platform-keys')).toHaveLength(4);

    // A name of one's own reaches every place the namespace is named, and the default name none.
    const named = await charts.render(UMBRELLA, 'keysns', 'platform', [
      '--set',
      'global.keysNamespace.name=tenantry-secrets',
    ]);
    expect(namespacesOf(named).map(({ metadata }) => metadata.name)).toEqual(['tenantry-secrets']);
    expect(
      inNamespace(named, 'tenantry-secrets')
        .map(({ kind, metadata }) => `${metadata.labels?.['app.kubernetes.io/name']} ${kind}`)
        .sort(),
    ).toEqual(['auth Role', 'auth RoleBinding', 'tenant-operator Role', 'tenant-operator RoleBinding']);
    expect(JSON.stringify(named)).not.toContain('platform-keys');
    const envValue = (chart: string, variable: string) =>
      containersOf(deploymentOf(named, chart))[0]?.env?.find(({ name }) => name === variable)?.value;
    expect(envValue('tenant-operator', 'KEYS_NAMESPACE')).toBe('tenantry-secrets');
    expect(envValue('auth', 'KEYS_NAMESPACE')).toBe('tenantry-secrets');

    // Only for the components that use it: auth alone still needs it, gateway and users do not.
    const authOnly = await charts.render(UMBRELLA, 'keysns', 'platform', [
      '--set',
      ['tenant-operator', ...SERVICES.filter((service) => service !== 'auth')]
        .map((component) => `${component}.enabled=false`)
        .join(','),
    ]);
    expect(namespacesOf(authOnly)).toHaveLength(1);
    const withoutBoth = await charts.render(UMBRELLA, 'keysns', 'platform', [
      '--set',
      'tenant-operator.enabled=false,auth.enabled=false',
    ]);
    expect(namespacesOf(withoutBoth)).toEqual([]);
    expect(inNamespace(withoutBoth, 'platform-keys')).toEqual([]);
  });

  test("the services' Roles and ClusterRoles have exactly their rules, bound to each service's account", async () => {
    const release = uniqueName('rbac');
    const objects = await charts.render(UMBRELLA, release, 'platform');
    const expected: Record<ServiceChart, { Role: V1PolicyRule[] | undefined; ClusterRole?: V1PolicyRule[] }> =
      {
        // The file the gateway's integration tests run with (the chart links to it).
        gateway: {
          Role: rulesOfKind('services/gateway/config/rbac.yaml', 'Role'),
          ClusterRole: rulesOfKind('services/gateway/config/rbac.yaml', 'ClusterRole'),
        },
        auth: { Role: TENANT_SECRETS_RULES },
        users: { Role: USERS_RULES },
        // Plans and the tenants' Ingresses: each tenant's plan's monthly tokens.
        chat: {
          Role: [
            ...USERS_RULES,
            { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['list', 'watch'] },
          ],
          ClusterRole: [{ apiGroups: ['tenantry.dev'], resources: ['plans'], verbs: ['list', 'watch'] }],
        },
        // A subscription change patches its Tenant's spec.plan; plans are read for their prices.
        billing: {
          Role: USERS_RULES,
          ClusterRole: [
            { apiGroups: ['tenantry.dev'], resources: ['tenants'], verbs: ['get', 'patch'] },
            { apiGroups: ['tenantry.dev'], resources: ['plans'], verbs: ['get', 'list'] },
          ],
        },
        // Like users: the tenant Secrets its runtime follows, the public keys to verify tokens.
        analytics: { Role: USERS_RULES },
        // Tenants' display names and hosts, for branding and links in mail.
        notifications: {
          Role: [
            ...USERS_RULES,
            { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'list', 'watch'] },
          ],
          ClusterRole: [
            { apiGroups: ['tenantry.dev'], resources: ['tenants'], verbs: ['get', 'list', 'watch'] },
          ],
        },
      };
    // Every service states its least privilege here: a new one fails until it does.
    expect(Object.keys(expected).sort()).toEqual([...SERVICES].sort());
    // The services only ever read the platform's objects; billing alone writes one field of Tenants.
    const readers = Object.entries(expected).filter(([service]) => service !== 'billing');
    for (const rules of readers.flatMap(([, { Role, ClusterRole }]) => [Role, ClusterRole])) {
      for (const rule of rules ?? [])
        expect(['get', 'list', 'watch']).toEqual(expect.arrayContaining(rule.verbs));
    }
    expect(expected.gateway?.Role?.length).toBeGreaterThan(0);
    expect(expected.gateway?.ClusterRole?.length).toBeGreaterThan(0);
    for (const service of SERVICES) {
      const serviceAccount = only(objects, 'ServiceAccount', service).metadata.name;
      expect(deploymentOf(objects, service).spec?.template.spec?.serviceAccountName).toBe(serviceAccount);
      for (const [kind, bindingKind] of [
        ['Role', 'RoleBinding'],
        ['ClusterRole', 'ClusterRoleBinding'],
      ] as const) {
        const rules = expected[service]?.[kind];
        // Here the release namespace (and cluster scope); the keys namespace has its own test.
        const scoped = objects.filter(({ metadata }) => (metadata.namespace ?? 'platform') === 'platform');
        const roles = ofChart(scoped, kind, service) as (KubeObject & { rules: unknown })[];
        const bindings = ofChart(scoped, bindingKind, service) as (KubeObject & {
          roleRef: { kind: string; name: string };
          subjects: unknown;
        })[];
        if (!rules) {
          expect(roles, `${service} ${kind}`).toEqual([]);
          expect(bindings, `${service} ${bindingKind}`).toEqual([]);
          continue;
        }
        expect(
          roles.map((role) => role.rules),
          `${service} ${kind}`,
        ).toEqual([rules]);
        const [role] = roles;
        expect(role?.metadata.name).toContain(release);
        if (kind === 'Role') expect(role?.metadata.namespace).toBe('platform');
        expect(
          bindings.map(({ roleRef, subjects }) => ({ roleRef, subjects })),
          `${service} ${bindingKind}`,
        ).toEqual([
          {
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: role?.metadata.name },
            subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: 'platform' }],
          },
        ]);
      }
    }
    const off = await charts.render(UMBRELLA, release, 'platform', ['--set', 'auth.rbac.create=false']);
    expect(ofChart(off, 'Role', 'auth')).toEqual([]);
    expect(ofChart(off, 'RoleBinding', 'auth')).toEqual([]);
  });

  test.for(SERVICES)(
    "%s: the Deployment sets every variable the service's config reads, and no other",
    async (service) => {
      const read = variablesReadBy(factsOf(service).config);
      expect(read).toContain('PORT');
      // Outside a pod only; in a pod the service account is used.
      read.delete('KUBECONFIG');
      const objects = await charts.render(UMBRELLA, 'env', 'platform');
      const [container] = containersOf(deploymentOf(objects, service));
      const env = container?.env ?? [];
      // Variables set only when their Secret is configured (none is by default).
      for (const optional of OPTIONAL_SECRET_VARIABLES[service] ?? []) read.delete(optional);
      expect(new Set(env.map((variable) => variable.name))).toEqual(read);
      const value = new Map(env.map((variable) => [variable.name, variable.value]));
      expect(value.get('PORT')).toBe(String(factsOf(service).port));
      expect(value.get('PLATFORM_NAMESPACE')).toBe('platform');
      expect(value.get('LOG_LEVEL')).toBe('info');
      // Every value is a plain string, but the service's credentials, which come from a Secret.
      for (const variable of env) {
        const fromSecret = SECRET_VARIABLES[service]?.includes(variable.name) ?? false;
        expect(variable, variable.name).toEqual(
          fromSecret
            ? {
                name: variable.name,
                valueFrom: { secretKeyRef: expect.objectContaining({ key: expect.any(String) }) },
              }
            : { name: variable.name, value: expect.any(String) },
        );
      }
      if (read.has('KAFKA_BROKERS')) expect(value.get('KAFKA_BROKERS')).toBe('tenantry-kafka-bootstrap:9092');
      if (service === 'gateway') {
        // The upstreams are this release's services, at the ports of BRIEF section 3.
        expect(value.get('AUTH_URL')).toBe('http://env-auth:3001');
        expect(value.get('USERS_URL')).toBe('http://env-users:3005');
        expect(value.get('CHAT_URL')).toBe('http://env-chat:3002');
        expect(value.get('ANALYTICS_URL')).toBe('http://env-analytics:3007');
      }
      if (service === 'auth') {
        // Large integers are written out, not in the float notation values.yaml numbers would give.
        expect(value.get('REFRESH_TOKEN_TTL_SECONDS')).toBe('2592000');
        // Where the private signing keys are: the keys namespace, never the platform one.
        expect(value.get('KEYS_NAMESPACE')).toBe('platform-keys');
      }
      // The containerPort, the Service port and the gateway's default upstream agree.
      expect(container?.ports).toEqual([
        { name: 'http', containerPort: factsOf(service).port, protocol: 'TCP' },
      ]);
      const svc = only(objects, 'Service', service) as KubeObject & { spec: { ports: unknown } };
      expect(svc.metadata.name).toBe(`env-${service}`);
      expect(svc.spec.ports).toEqual([
        { name: 'http', port: factsOf(service).port, targetPort: 'http', protocol: 'TCP' },
      ]);
    },
  );

  test('the operator routes tenant Ingresses to the gateway Service the gateway chart creates', async () => {
    const objects = await charts.render(UMBRELLA, 'routes', 'platform');
    const env = new Map(
      containersOf(operatorDeployment(objects))[0]?.env?.map((variable) => [variable.name, variable.value]),
    );
    const gateway = only(objects, 'Service', 'gateway') as KubeObject & {
      spec: { ports: { port: number }[] };
    };
    expect(env.get('TENANTRY_GATEWAY_SERVICE')).toBe(gateway.metadata.name);
    expect(env.get('TENANTRY_GATEWAY_PORT')).toBe(String(gateway.spec.ports[0]?.port));
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
    expect(byName.get('PLATFORM_NAMESPACE')?.value).toBe('platform');
    expect(byName.get('KEYS_NAMESPACE')?.value).toBe('platform-keys');
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
          // The root filesystem is read-only, so /tmp is a bounded emptyDir.
          const tmp = container.volumeMounts?.find((mount) => mount.mountPath === '/tmp');
          const volume = pod?.volumes?.find(({ name }) => name === tmp?.name);
          expect(volume?.emptyDir?.sizeLimit, where).toBeDefined();
        }
      }
      for (const service of enabledServices(objects)) {
        const [container] = containersOf(deploymentOf(objects, service));
        expect(container?.name).toBe(service);
        // Readiness is /health (503 while a dependency is down); startup and liveness only ask
        // whether the process answers.
        expect(container?.readinessProbe?.httpGet).toEqual({ path: '/health', port: 'http' });
        for (const probe of [container?.startupProbe, container?.livenessProbe]) {
          expect(probe?.httpGet, service).toEqual({
            path: factsOf(service).livenessPath,
            port: 'http',
          });
        }
        expect(container?.lifecycle?.preStop?.exec?.command).toEqual(['sleep', '5']);
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
    const selectors = new Map<string, unknown[]>();
    for (const { args } of SCENARIOS) {
      const objects = await charts.render(UMBRELLA, 'stable', 'platform', args);
      for (const chart of ['tenant-operator', ...enabledServices(objects)]) {
        const deployment = deploymentOf(objects, chart);
        const selector = deployment.spec?.selector.matchLabels;
        selectors.set(chart, [...(selectors.get(chart) ?? []), selector]);
        expect(deployment.spec?.template.metadata?.labels).toMatchObject(selector ?? {});
        for (const pdb of ofChart(objects, 'PodDisruptionBudget', chart) as (KubeObject & {
          spec: { selector: unknown };
        })[]) {
          expect(pdb.spec.selector).toEqual({ matchLabels: selector });
        }
        const service = only(objects, 'Service', chart) as KubeObject & { spec: { selector: unknown } };
        expect(service.spec.selector).toEqual(selector);
        for (const policy of ofChart(objects, 'NetworkPolicy', chart) as NetworkPolicy[]) {
          expect(policy.spec?.podSelector).toEqual({ matchLabels: selector });
        }
        const hpa = ofChart(objects, 'HorizontalPodAutoscaler', chart)[0] as
          | (KubeObject & { spec: { scaleTargetRef: unknown } })
          | undefined;
        if (hpa) {
          expect(hpa.spec.scaleTargetRef).toEqual({
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: deployment.metadata?.name,
          });
          // The autoscaler owns the replica count: an upgrade must not reset it.
          expect(deployment.spec?.replicas).toBeUndefined();
        }
      }
    }
    expect([...selectors.keys()].sort()).toEqual(['tenant-operator', ...SERVICES].sort());
    for (const [chart, values] of selectors) {
      expect(values[0]).toEqual({ 'app.kubernetes.io/name': chart, 'app.kubernetes.io/instance': 'stable' });
      for (const selector of values) expect(selector, chart).toEqual(values[0]);
    }
  });

  test.for(SCENARIOS)(
    '$name: every enabled service has a NetworkPolicy that admits only its callers',
    async ({ args }) => {
      const objects = await charts.render(UMBRELLA, 'netpol', 'platform', args);
      const services = enabledServices(objects);
      expect(services.length).toBeGreaterThan(0);
      const gatewayPods = {
        podSelector: {
          matchLabels: { 'app.kubernetes.io/name': 'gateway', 'app.kubernetes.io/instance': 'netpol' },
        },
      };
      for (const service of services) {
        const policies = ofChart(objects, 'NetworkPolicy', service) as NetworkPolicy[];
        expect(policies, service).toHaveLength(1);
        const spec = policies[0]?.spec;
        expect(spec?.policyTypes).toEqual(['Ingress']);
        const rules = spec?.ingress ?? [];
        expect(rules.length, service).toBeGreaterThan(0);
        for (const rule of rules) {
          // An empty or missing `from` would admit every source.
          expect(rule.from?.length, service).toBeGreaterThan(0);
          expect(rule.ports).toEqual([{ port: 'http', protocol: 'TCP' }]);
        }
        const callers = rules[0]?.from ?? [];
        if (service === 'gateway') {
          expect(callers[0]).toEqual({
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
            podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
          });
          expect(callers).not.toContainEqual(gatewayPods);
        } else {
          // Only this release's gateway pods call auth and users (and extraFrom, when given).
          expect(callers[0]).toEqual(gatewayPods);
        }
      }
      // A service without a policy would be open to every pod: each Deployment is covered.
      const deployments = objects.filter(
        (object) =>
          object.kind === 'Deployment' &&
          object.metadata.labels?.['app.kubernetes.io/name'] !== 'tenant-operator',
      );
      expect(deployments).toHaveLength(services.length);
    },
  );

  test("the PrometheusRule carries the six alerts of BRIEF section 7, on this release's series", async () => {
    const objects = await charts.render(UMBRELLA, 'alerts', 'platform', [
      '--set',
      'prometheusRule.enabled=true',
    ]);
    const rule = only(objects, 'PrometheusRule', 'tenantry') as KubeObject & {
      spec: {
        groups: {
          rules: {
            alert: string;
            expr: string;
            for: string;
            labels: { severity: string };
            annotations: Record<string, string>;
          }[];
        }[];
      };
    };
    const alerts = rule.spec.groups.flatMap((group) => group.rules);
    expect(alerts.map((alert) => alert.alert)).toEqual(ALERTS);
    const byName = new Map(alerts.map((alert) => [alert.alert, alert]));
    const expr = (name: string) => (byName.get(name)?.expr ?? '').replace(/\s+/g, ' ');
    const services = `job=~"${SERVICES.map((service) => `alerts-${service}`).join('|')}"`;
    expect(expr('TenantryHighErrorRate')).toContain(
      `http_requests_total{namespace="platform", ${services}, status_code=~"5.."}[5m]`,
    );
    expect(expr('TenantryHighErrorRate')).toMatch(/> 0\.05$/);
    expect(expr('TenantryHighLatencyP99')).toContain('histogram_quantile(0.99,');
    expect(expr('TenantryHighLatencyP99')).toContain(
      `http_request_duration_seconds_bucket{namespace="platform", ${services}}[5m]`,
    );
    expect(expr('TenantryHighLatencyP99')).toMatch(/> 1$/);
    expect(expr('TenantryServiceDown')).toBe(
      `up{namespace="platform", job=~"${[...SERVICES.map((service) => `alerts-${service}`), 'alerts-tenant-operator-metrics'].join('|')}"} == 0`,
    );
    expect(expr('TenantryDatabasePoolExhausted')).toContain(
      'max by (namespace, job, tenant) (db_pool_usage_ratio{',
    );
    expect(expr('TenantryDatabasePoolExhausted')).toMatch(/>= 1$/);
    expect(byName.get('TenantryDatabasePoolExhausted')?.for).toBe('5m');
    expect(expr('TenantryConsumerLagHigh')).toContain('kafka_consumer_lag{');
    expect(expr('TenantryConsumerLagHigh')).toMatch(/> 1000$/);
    expect(byName.get('TenantryConsumerLagHigh')?.annotations.description).toContain(
      'Each consuming service exports kafka_consumer_lag',
    );
    expect(expr('TenantryMemoryNearLimit')).toContain(
      `container_memory_working_set_bytes{namespace="platform", container=~"${[...SERVICES, 'tenant-operator'].join('|')}"}`,
    );
    expect(expr('TenantryMemoryNearLimit')).toContain('kube_pod_container_resource_limits{');
    expect(expr('TenantryMemoryNearLimit')).toMatch(/> 0\.9$/);
    for (const alert of alerts) {
      expect(['critical', 'warning'], alert.alert).toContain(alert.labels.severity);
      expect(alert.annotations.summary, alert.alert).toBeTruthy();
      expect(alert.for, alert.alert).toMatch(/^\d+m$/);
    }
    // Disabled components leave the selectors; without any service, the HTTP alerts go.
    const operatorOnly = await charts.render(UMBRELLA, 'alerts', 'platform', [
      '--set',
      ['prometheusRule.enabled=true', ...SERVICES.map((service) => `${service}.enabled=false`)].join(','),
    ]);
    const left = (only(operatorOnly, 'PrometheusRule', 'tenantry') as typeof rule).spec.groups.flatMap(
      (g) => g.rules,
    );
    expect(left.map((alert) => alert.alert)).toEqual(['TenantryServiceDown', 'TenantryMemoryNearLimit']);
    expect(left[0]?.expr).toContain('job=~"alerts-tenant-operator-metrics"');
    const off = await charts.render(UMBRELLA, 'alerts', 'platform');
    expect(off.filter((object) => object.kind === 'PrometheusRule')).toEqual([]);
  });

  test('scenario switches: ServiceMonitors, TLS, all services, single operator replica, components off', async () => {
    const monitored = await charts.render(UMBRELLA, 'sm', 'platform', [
      '--values',
      `${UMBRELLA}/ci/servicemonitor-values.yaml`,
    ]);
    for (const chart of ['tenant-operator', ...SERVICES]) {
      const monitor = only(monitored, 'ServiceMonitor', chart) as KubeObject & {
        spec: { endpoints: unknown; selector: unknown };
      };
      expect(monitor.metadata.labels?.release).toBe('kube-prometheus-stack');
      expect(monitor.spec.endpoints).toEqual([
        {
          port: chart === 'tenant-operator' ? 'metrics' : 'http',
          path: '/metrics',
          interval: '15s',
          scrapeTimeout: '10s',
        },
      ]);
      // It selects exactly the chart's Service.
      const service = (
        chart === 'tenant-operator' ? only(monitored, 'Service') : only(monitored, 'Service', chart)
      ) as KubeObject;
      expect(monitor.spec.selector).toEqual({
        matchLabels: { 'app.kubernetes.io/name': chart, 'app.kubernetes.io/instance': 'sm' },
      });
      expect(service.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': chart,
        'app.kubernetes.io/instance': 'sm',
      });
    }
    expect(only(monitored, 'PrometheusRule', 'tenantry').metadata.labels?.release).toBe(
      'kube-prometheus-stack',
    );
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
    const tlsObjects = await charts.render(UMBRELLA, 'tls', 'platform', [
      '--values',
      `${UMBRELLA}/ci/tls-values.yaml`,
    ]);
    for (const service of SERVICES) {
      const deployment = deploymentOf(tlsObjects, service);
      expect(containersOf(deployment)[0]?.image).toBe(`registry.example.com/tenantry/${service}:0.1.0`);
      expect(deployment.spec?.template.spec?.imagePullSecrets).toEqual([{ name: 'registry-credentials' }]);
    }
    const gatewayEnv = new Map(
      containersOf(deploymentOf(tlsObjects, 'gateway'))[0]?.env?.map((variable) => [
        variable.name,
        variable.value,
      ]),
    );
    expect(gatewayEnv.get('CORS_ORIGINS')).toBe('https://app.tenantry.example.com');
    expect(gatewayEnv.get('TRUSTED_PROXIES')).toBe('10.244.0.0/16');

    const all = await charts.render(UMBRELLA, 'all', 'platform', [
      '--values',
      `${UMBRELLA}/ci/all-services-values.yaml`,
    ]);
    expect(enabledServices(all)).toEqual([...SERVICES]);
    for (const service of SERVICES) {
      const hpa = only(all, 'HorizontalPodAutoscaler', service) as KubeObject & {
        spec: { metrics: unknown[] };
      };
      expect(hpa.spec.metrics.length).toBeGreaterThan(0);
      expect(deploymentOf(all, service).spec?.replicas).toBeUndefined();
    }
    const authEnv = containersOf(deploymentOf(all, 'auth'))[0]?.env ?? [];
    expect(authEnv.find((variable) => variable.name === 'OTEL_EXPORTER_OTLP_HEADERS')).toEqual({
      name: 'OTEL_EXPORTER_OTLP_HEADERS',
      valueFrom: { secretKeyRef: { name: 'tenantry-otel', key: 'headers', optional: true } },
    });
    const allGatewayEnv = new Map(
      containersOf(deploymentOf(all, 'gateway'))[0]?.env?.map((variable) => [variable.name, variable.value]),
    );
    expect(allGatewayEnv.get('CHAT_URL')).toBe('http://chat.ai-platform.svc:3002');
    expect(allGatewayEnv.get('AUTH_URL')).toBe('http://all-auth:3001');
    const authPolicy = only(all, 'NetworkPolicy', 'auth') as NetworkPolicy;
    expect(authPolicy.spec?.ingress?.[0]?.from).toHaveLength(2);

    const withoutUsers = await charts.render(UMBRELLA, 'off', 'platform', ['--set', 'users.enabled=false']);
    expect(
      withoutUsers.filter((object) => object.metadata.labels?.['app.kubernetes.io/name'] === 'users'),
    ).toEqual([]);
    expect(enabledServices(withoutUsers)).toEqual(SERVICES.filter((service) => service !== 'users'));

    const single = operatorDeployment(
      await charts.render(UMBRELLA, 'single', 'platform', [
        '--set',
        'tenant-operator.replicaCount=1,tenant-operator.operator.leaderElection.enabled=false',
      ]),
    );
    expect(single.spec?.strategy).toEqual({ type: 'Recreate' });

    const off = await charts.render(UMBRELLA, 'off', 'platform', [
      '--set',
      ['tenant-operator', ...SERVICES].map((component) => `${component}.enabled=false`).join(','),
    ]);
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
    const core = kube.makeApiClient(CoreV1Api);
    const rbac = kube.makeApiClient(RbacAuthorizationV1Api);
    const authorization = kube.makeApiClient(AuthorizationV1Api);
    const name = `${release}-tenant-operator`;
    const serviceName = (service: ServiceChart) => `${release}-${service}`;
    const keys = keysNamespaceOf(namespace);
    /** Whether the API server's RBAC authorizer lets a ServiceAccount of the release do `verb` on Secrets. */
    const may = async (account: string, verb: string, where: string) =>
      (
        await authorization.createSubjectAccessReview({
          body: {
            spec: {
              user: `system:serviceaccount:${namespace}:${account}`,
              resourceAttributes: { namespace: where, verb, resource: 'secrets' },
            },
          },
        })
      ).status?.allowed === true;
    try {
      const installed = await charts.helm(['install', release, ...releaseArgs]);
      expect(installed).toContain('STATUS: deployed');
      expect(installed).toContain(`deployment/${name}`);
      expect(installed).toContain('kubectl apply -f examples/tenants/acme.yaml');
      expect(installed).toContain('kubectl wait --for=condition=Ready tenant/acme');
      expect(installed).toContain(`port-forward svc/${serviceName('gateway')} 4000:4000`);
      for (const service of SERVICES) expect(installed).toContain(`deployment/${serviceName(service)}`);
      expect(installed).toContain(`Secrets in namespace ${keys}`);

      // Helm created the keys namespace (the devstack admin may create namespaces) and the Roles in it.
      const keysNamespace = await core.readNamespace({ name: keys });
      expect(keysNamespace.metadata?.annotations?.['helm.sh/resource-policy']).toBe('keep');
      const operatorKeysRole = await rbac.readNamespacedRole({ name: `${name}-keys`, namespace: keys });
      expect(operatorKeysRole.rules).toEqual(rulesOf(OPERATOR_KEYS_ROLE));
      const authKeysRole = await rbac.readNamespacedRole({
        name: `${serviceName('auth')}-keys`,
        namespace: keys,
      });
      expect(authKeysRole.rules).toEqual(AUTH_KEYS_RULES);
      // What the bindings grant, as the API server's authorizer decides it. users may read Secrets of
      // the platform namespace (the app credentials), so a denial below is about the namespace.
      for (const verb of ['get', 'list', 'watch', 'create', 'update', 'delete']) {
        expect(await may(name, verb, keys), `operator ${verb}`).toBe(true);
      }
      for (const verb of ['get', 'list', 'watch']) {
        expect(await may(serviceName('auth'), verb, keys), `auth ${verb}`).toBe(true);
        expect(
          await may(serviceName('users'), verb, namespace),
          `users ${verb} in the platform namespace`,
        ).toBe(true);
        for (const service of ['users', 'gateway'] as const) {
          expect(await may(serviceName(service), verb, keys), `${service} ${verb}`).toBe(false);
        }
      }
      expect(await may(serviceName('auth'), 'create', keys)).toBe(false);

      const before = await apps.readNamespacedDeployment({ name, namespace });
      const liveRole = await rbac.readClusterRole({ name });
      expect(liveRole.rules).toEqual(rulesOf('operators/tenant-operator/config/rbac/cluster-role.yaml'));
      const gatewayRole = await rbac.readClusterRole({ name: serviceName('gateway') });
      expect(gatewayRole.rules).toEqual(rulesOfKind('services/gateway/config/rbac.yaml', 'ClusterRole'));
      const authRole = await rbac.readNamespacedRole({ name: serviceName('auth'), namespace });
      expect(authRole.rules).toEqual(TENANT_SECRETS_RULES);
      const servicesBefore = new Map<string, unknown>();
      for (const service of SERVICES) {
        const deployment = await apps.readNamespacedDeployment({ name: serviceName(service), namespace });
        expect(deployment.spec?.replicas).toBe(2);
        servicesBefore.set(service, {
          deployment: deployment.spec?.selector,
          service: (await core.readNamespacedService({ name: serviceName(service), namespace })).spec
            ?.selector,
        });
      }

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
      const ha = parse(repoFile(`${UMBRELLA}/ci/ha-values.yaml`)) as Record<string, unknown>;
      const after = await apps.readNamespacedDeployment({ name, namespace });
      expect(after.spec?.selector).toEqual(before.spec?.selector);
      expect(after.spec?.replicas).toBe(3);
      const env = after.spec?.template.spec?.containers[0]?.env ?? [];
      expect(env.find((variable) => variable.name === 'LOG_LEVEL')?.value).toBe('debug');
      for (const service of SERVICES) {
        const deployment = await apps.readNamespacedDeployment({ name: serviceName(service), namespace });
        expect(
          {
            deployment: deployment.spec?.selector,
            service: (await core.readNamespacedService({ name: serviceName(service), namespace })).spec
              ?.selector,
          },
          service,
        ).toEqual(servicesBefore.get(service));
        // ha-values.yaml's resources and spread apply, and it turns autoscaling on (below).
        expect(deployment.spec?.template.spec?.containers[0]?.resources?.limits).toEqual(
          (ha[service] as { resources: { limits: unknown } }).resources.limits,
        );
        expect(deployment.spec?.template.spec?.topologySpreadConstraints?.[0]?.whenUnsatisfiable).toBe(
          'DoNotSchedule',
        );
      }
      const hpas = await charts.kubectl([
        'get',
        'horizontalpodautoscalers',
        '--namespace',
        namespace,
        '--output',
        'name',
      ]);
      expect(hpas.trim().split('\n').sort()).toEqual(
        SERVICES.map((service) => `horizontalpodautoscaler.autoscaling/${serviceName(service)}`).sort(),
      );
    } finally {
      // A failed uninstall shows in the assertions below; it must not hide why the test failed.
      await charts.helm(['uninstall', release, '--namespace', namespace]).catch(() => undefined);
    }
    // Cluster-scoped objects go with the release, and so does the RBAC in the keys namespace.
    for (const clusterScoped of [name, serviceName('gateway')]) {
      await expect(rbac.readClusterRole({ name: clusterScoped })).rejects.toMatchObject({ code: 404 });
      await expect(rbac.readClusterRoleBinding({ name: clusterScoped })).rejects.toMatchObject({ code: 404 });
    }
    for (const keysRbac of [`${name}-keys`, `${serviceName('auth')}-keys`]) {
      await expect(rbac.readNamespacedRole({ name: keysRbac, namespace: keys })).rejects.toMatchObject({
        code: 404,
      });
      await expect(rbac.readNamespacedRoleBinding({ name: keysRbac, namespace: keys })).rejects.toMatchObject(
        {
          code: 404,
        },
      );
    }
    // The keys namespace stays, with the tenants' keys: helm.sh/resource-policy: keep.
    const kept = await core.readNamespace({ name: keys });
    expect(kept.metadata?.deletionTimestamp).toBeUndefined();
  });

  test('NOTES render for each chart on its own and for the umbrella without the operator or gateway', async ({
    namespace,
  }) => {
    /** The NOTES (and manifests) of a client-side dry-run install of `chart` with `set` values. */
    const notes = (chart: string, set?: string) =>
      charts.helm([
        'install',
        uniqueName('notes'),
        chart,
        '--namespace',
        namespace,
        '--dry-run=client',
        ...(set ? ['--set', set] : []),
      ]);
    const standalone = await notes(OPERATOR, 'plans.installDefaults=false');
    expect(standalone).toContain('kubectl apply -f crds/');
    expect(standalone).toContain('kubectl wait --for=condition=Ready tenant/acme');
    const disabled = await notes(UMBRELLA, 'tenant-operator.enabled=false');
    expect(disabled).toContain('The tenant operator is disabled');
    const withoutGateway = await notes(
      UMBRELLA,
      'gateway.enabled=false,tenant-operator.plans.installDefaults=false',
    );
    expect(withoutGateway).toContain('The gateway is disabled');
    const keysByHand = await notes(
      UMBRELLA,
      'global.keysNamespace.create=false,tenant-operator.plans.installDefaults=false',
    );
    expect(keysByHand).toContain(`kubectl create namespace ${keysNamespaceOf(namespace)}`);
    for (const service of SERVICES) {
      const alone = await notes(`charts/${service}`);
      expect(alone, service).toContain(`The Tenantry ${service} service is installed`);
    }
  });
});
