import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ApiException,
  ApiextensionsV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { devstack, kubeConfig, test, uniqueName } from '@tenantry/devstack/testing';
import {
  PLAN_PLURAL,
  type Plan,
  TENANT_API_VERSION,
  TENANT_GROUP,
  TENANT_PLURAL,
  TENANT_VERSION,
  type Tenant,
  type TenantSpec,
} from '@tenantry/tenant-api';
import { beforeAll, describe, expect } from 'vitest';
import {
  applyDefaultPlans,
  applyManifests,
  FIELD_MANAGER,
  installCrds,
  loadManifests,
  REPO_ROOT,
} from './apply-manifests.ts';

// Tenants and Plans are cluster-scoped and other test files run in parallel against the same API
// server: every object created here has a unique name and is deleted at the end. Objects that are
// expected to be refused are sent as dry runs, so a missing validation fails the test without
// leaving a tenant behind.

const TENANTS = { group: TENANT_GROUP, version: TENANT_VERSION, plural: TENANT_PLURAL };
const PLANS = { group: TENANT_GROUP, version: TENANT_VERSION, plural: PLAN_PLURAL };
const DRY_RUN = 'All';
const STRICT = 'Strict';

beforeAll(async () => {
  await installCrds(kubeConfig());
});

/** A Tenant as a client would send it: possibly invalid, hence not typed as one. */
function tenant(name: string, spec: object): KubernetesObject & { spec: object } {
  return { apiVersion: TENANT_API_VERSION, kind: 'Tenant', metadata: { name }, spec };
}

const VALID_SPEC = {
  displayName: 'Acme Inc.',
  plan: 'pro',
  domains: ['chat.acme.test'],
  admin: { email: 'ops@acme.test' },
  database: { reclaimPolicy: 'Retain' },
  suspended: false,
};

interface Rejection {
  code: number;
  message: string;
}

/** The API server's Status for a request that must fail; fails the test when it succeeded. */
async function rejection(request: Promise<unknown>): Promise<Rejection> {
  let accepted: unknown;
  try {
    accepted = await request;
  } catch (error) {
    if (!(error instanceof ApiException) || typeof error.body !== 'string') throw error;
    const status = JSON.parse(error.body) as { message?: string };
    return { code: error.code, message: status.message ?? '' };
  }
  throw new Error(
    `expected the API server to refuse the request, but it accepted: ${JSON.stringify(accepted)}`,
  );
}

function dryRunCreate(kube: KubeConfig, body: KubernetesObject, resource = TENANTS): Promise<unknown> {
  return kube
    .makeApiClient(CustomObjectsApi)
    .createClusterCustomObject({ ...resource, body, dryRun: DRY_RUN, fieldValidation: STRICT });
}

async function getTenant(api: CustomObjectsApi, name: string): Promise<Tenant> {
  return (await api.getClusterCustomObject({ ...TENANTS, name })) as Tenant;
}

async function updateSpec(api: CustomObjectsApi, name: string, change: (spec: TenantSpec) => object) {
  const current = await getTenant(api, name);
  const body = { ...current, spec: change(current.spec) };
  return (await api.replaceClusterCustomObject({
    ...TENANTS,
    name,
    body,
    fieldValidation: STRICT,
  })) as Tenant;
}

async function deleteTenant(api: CustomObjectsApi, name: string): Promise<void> {
  try {
    await api.deleteClusterCustomObject({ ...TENANTS, name });
  } catch (error) {
    if (!(error instanceof ApiException && error.code === 404)) throw error;
  }
}

describe('installCrds', () => {
  test('is idempotent and leaves both CRDs Established', async ({ kube }) => {
    const api = kube.makeApiClient(ApiextensionsV1Api);
    await installCrds(kube);
    const before = await api.readCustomResourceDefinition({ name: 'tenants.tenantry.dev' });
    await installCrds(kube);

    for (const name of ['tenants.tenantry.dev', 'plans.tenantry.dev']) {
      const crd = await api.readCustomResourceDefinition({ name });
      expect(crd.status?.conditions).toContainEqual(
        expect.objectContaining({ type: 'Established', status: 'True' }),
      );
      expect(crd.spec.scope).toBe('Cluster');
    }
    // Applying unchanged manifests again is a no-op: the schema generation does not move.
    const after = await api.readCustomResourceDefinition({ name: 'tenants.tenantry.dev' });
    expect(after.metadata?.generation).toBe(before.metadata?.generation);
    expect(after.spec.names.shortNames).toEqual(['tn']);
    expect(after.spec.versions[0]?.subresources?.status).toEqual({});
  });

  test('stores each CRD exactly as written, defaults and CEL rules included', async ({ kube }) => {
    for (const file of ['tenants.tenantry.dev.yaml', 'plans.tenantry.dev.yaml']) {
      const manifests = loadManifests(join(REPO_ROOT, 'crds', file));
      // applyManifests returns what the API server stored, in wire form.
      const stored = await applyManifests(kube, manifests, FIELD_MANAGER);
      expect(stored).toMatchObject(manifests);
    }
  });

  test('declares the kubectl columns PLAN, READY, HOSTS, AGE, and REASON in wide output', async ({
    kube,
  }) => {
    const crd = await kube
      .makeApiClient(ApiextensionsV1Api)
      .readCustomResourceDefinition({ name: 'tenants.tenantry.dev' });
    const columns = crd.spec.versions[0]?.additionalPrinterColumns ?? [];
    expect(columns.map((c) => [c.name, c.priority ?? 0])).toEqual([
      ['PLAN', 0],
      ['READY', 0],
      ['HOSTS', 0],
      ['REASON', 1],
      ['AGE', 0],
    ]);
  });
});

describe('Tenant', () => {
  test('a complete tenant, and each example tenant, pass strict validation', async ({ kube }) => {
    await dryRunCreate(kube, tenant(uniqueName('crd'), VALID_SPEC));

    const examples = readdirSync(join(REPO_ROOT, 'examples/tenants')).filter((f) => f.endsWith('.yaml'));
    expect(examples.sort()).toEqual(['acme.yaml', 'globex.yaml', 'initech.yaml']);
    for (const file of examples) {
      for (const object of loadManifests(join(REPO_ROOT, 'examples/tenants', file))) {
        // Renamed: another test may own a tenant called acme on this shared API server.
        const name = uniqueName(object.metadata?.name ?? 'example');
        await dryRunCreate(kube, { ...object, metadata: { ...object.metadata, name } });
      }
    }
  });

  test('defaults plan to free, reclaimPolicy to Retain and suspended to false', async ({ kube }) => {
    const api = kube.makeApiClient(CustomObjectsApi);
    const name = uniqueName('crd');
    await api.createClusterCustomObject({ ...TENANTS, body: tenant(name, { displayName: 'Defaults' }) });
    try {
      const stored = await getTenant(api, name);
      expect(stored.spec).toEqual({
        displayName: 'Defaults',
        plan: 'free',
        database: { reclaimPolicy: 'Retain' },
        suspended: false,
      });

      // spec.plan is a selectable field: the tenants on a plan are listed without listing all.
      const onFree = (await api.listClusterCustomObject({ ...TENANTS, fieldSelector: 'spec.plan=free' })) as {
        items: Tenant[];
      };
      expect(onFree.items.map((t) => t.metadata.name)).toContain(name);
      expect(onFree.items.every((t) => t.spec.plan === 'free')).toBe(true);
    } finally {
      await deleteTenant(api, name);
    }
  });

  const invalidTenants: { case: string; name?: string; spec: object; message: string }[] = [
    {
      case: 'an uppercase name',
      name: 'Acme',
      spec: VALID_SPEC,
      message: 'metadata.name "Acme" must be a DNS label of 3-40 characters',
    },
    {
      case: 'a name of 2 characters',
      name: 'ab',
      spec: VALID_SPEC,
      message:
        'metadata.name: Invalid value: metadata.name "ab" must be a DNS label of 3-40 characters ([a-z0-9-], starting and ending with a letter or digit): it is shorter than 3 characters',
    },
    {
      case: 'a name of 41 characters',
      name: 'a'.repeat(41),
      spec: VALID_SPEC,
      message: `metadata.name "${'a'.repeat(41)}" must be a DNS label of 3-40 characters ([a-z0-9-], starting and ending with a letter or digit): it is longer than 40 characters`,
    },
    {
      case: 'a dot in the name',
      name: 'acme.corp',
      spec: VALID_SPEC,
      message: 'metadata.name "acme.corp" must be a DNS label of 3-40 characters',
    },
    {
      // Without strict validation the typo would be pruned silently and the tenant put on free.
      case: 'an unknown field in spec',
      spec: { ...VALID_SPEC, plna: 'enterprise' },
      message: 'strict decoding error: unknown field "spec.plna"',
    },
    {
      case: 'an unknown field in spec.admin',
      spec: { ...VALID_SPEC, admin: { email: 'ops@acme.test', name: 'Ops' } },
      message: 'unknown field "spec.admin.name"',
    },
    {
      case: 'a domain with spaces',
      spec: { ...VALID_SPEC, domains: ['not a domain'] },
      message:
        'spec.domains[0]: Invalid value: "not a domain": spec.domains: "not a domain" is not a valid domain: it must be a lowercase DNS name with at least two labels',
    },
    {
      case: 'an uppercase domain',
      spec: { ...VALID_SPEC, domains: ['chat.acme.test', 'UPPER.example.com'] },
      message:
        'spec.domains[1]: Invalid value: "UPPER.example.com": spec.domains: "UPPER.example.com" is not a valid domain',
    },
    {
      case: 'a single-label domain',
      spec: { ...VALID_SPEC, domains: ['localhost'] },
      message: 'spec.domains: "localhost" is not a valid domain',
    },
    {
      case: 'an IP address as domain',
      spec: { ...VALID_SPEC, domains: ['10.0.0.1'] },
      message: 'spec.domains: "10.0.0.1" is not a valid domain',
    },
    {
      case: 'a duplicate domain',
      spec: { ...VALID_SPEC, domains: ['chat.acme.test', 'chat.acme.test'] },
      message: 'spec.domains[1]: Duplicate value: "chat.acme.test"',
    },
    {
      case: 'more than 20 domains',
      spec: { ...VALID_SPEC, domains: Array.from({ length: 21 }, (_, i) => `d${i}.acme.test`) },
      message: 'spec.domains: Too many: 21: must have at most 20 items',
    },
    {
      case: 'a misspelt reclaimPolicy',
      spec: { ...VALID_SPEC, database: { reclaimPolicy: 'Delet' } },
      message:
        'spec.database.reclaimPolicy: Unsupported value: "Delet": supported values: "Retain", "Delete"',
    },
    {
      case: 'no displayName',
      spec: { plan: 'pro' },
      message: 'spec.displayName: Required value',
    },
    {
      case: 'an empty displayName',
      spec: { ...VALID_SPEC, displayName: '' },
      message:
        'spec.displayName: Invalid value: "": spec.displayName in body should be at least 1 chars long',
    },
    {
      case: 'a plan name with capitals',
      spec: { ...VALID_SPEC, plan: 'Pro' },
      message: 'spec.plan: Invalid value: "Pro": spec.plan in body should match',
    },
    {
      case: 'an admin.email without a domain',
      spec: { ...VALID_SPEC, admin: { email: 'ops' } },
      message: 'spec.admin.email: Invalid value: "ops": spec.admin.email in body should match',
    },
  ];

  test.for(invalidTenants)('refuses $case, naming the field', async (invalid, { kube }) => {
    const refused = await rejection(
      dryRunCreate(kube, tenant(invalid.name ?? uniqueName('crd'), invalid.spec)),
    );
    expect(refused.code).toBeOneOf([400, 422]);
    expect(refused.message).toContain(invalid.message);
  });

  test('spec.admin.email can be set once, then neither changed nor removed', async ({ kube }) => {
    const api = kube.makeApiClient(CustomObjectsApi);
    const name = uniqueName('crd');
    await api.createClusterCustomObject({ ...TENANTS, body: tenant(name, { displayName: 'Immutable' }) });
    try {
      const invited = await updateSpec(api, name, (spec) => ({
        ...spec,
        admin: { email: 'first@acme.test' },
      }));
      expect(invited.spec.admin?.email).toBe('first@acme.test');

      const changed = await rejection(
        updateSpec(api, name, (spec) => ({ ...spec, admin: { email: 'second@acme.test' } })),
      );
      expect(changed.code).toBe(422);
      expect(changed.message).toContain(
        'spec.admin.email: Forbidden: spec.admin.email is immutable: the first owner is invited once during provisioning',
      );

      const removed = await rejection(updateSpec(api, name, ({ admin: _admin, ...spec }) => spec));
      expect(removed.message).toContain('spec.admin.email: Forbidden: spec.admin.email is immutable');

      // The rules are about that one field: the rest of the spec stays editable.
      const edited = await updateSpec(api, name, (spec) => ({
        ...spec,
        displayName: 'Renamed',
        database: { reclaimPolicy: 'Delete' },
      }));
      expect(edited.spec).toMatchObject({
        displayName: 'Renamed',
        admin: { email: 'first@acme.test' },
        database: { reclaimPolicy: 'Delete' },
      });

      // Dropping reclaimPolicy falls back to the safe default instead of keeping Delete.
      const reset = await updateSpec(api, name, (spec) => ({ ...spec, database: {} }));
      expect(reset.spec.database).toEqual({ reclaimPolicy: 'Retain' });
    } finally {
      await deleteTenant(api, name);
    }
  });

  test('status is a subresource with the conditions kubectl shows and waits on', async ({ kube }) => {
    const api = kube.makeApiClient(CustomObjectsApi);
    const name = uniqueName('crd');
    const status = {
      observedGeneration: 1,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Provisioned',
          message: 'database, topics and routes are ready',
          observedGeneration: 1,
          lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        },
      ],
      database: { name: 'tenant_x', secretName: `tenant-${name}-db`, migrationsVersion: '0001' },
      topics: [`tenantry.${name}.events`],
      hosts: [`${name}.tenantry.localhost`, 'chat.acme.test'],
      readySeconds: 2.5,
    };
    // A status sent with the object is dropped: only the status subresource writes it.
    await api.createClusterCustomObject({ ...TENANTS, body: { ...tenant(name, VALID_SPEC), status } });
    try {
      const created = await getTenant(api, name);
      expect(created.status).toBeUndefined();

      const badStatus = { ...status, conditions: [{ ...status.conditions[0], status: 'Yes' }] };
      const refused = await rejection(
        api.replaceClusterCustomObjectStatus({ ...TENANTS, name, body: { ...created, status: badStatus } }),
      );
      expect(refused.message).toContain('status.conditions[0].status: Unsupported value: "Yes"');

      await api.replaceClusterCustomObjectStatus({
        ...TENANTS,
        name,
        body: { ...created, status },
        fieldValidation: STRICT,
      });
      expect((await getTenant(api, name)).status).toEqual(status);

      const { kubectl } = devstack().bin;
      const kubeconfig = devstack().kube.kubeconfig;
      const run = promisify(execFile);
      const wide = await run(kubectl, ['--kubeconfig', kubeconfig, 'get', 'tenants', name, '-o', 'wide']);
      const [header, row] = wide.stdout.trim().split('\n');
      expect(header?.split(/\s+/)).toEqual(['NAME', 'PLAN', 'READY', 'HOSTS', 'REASON', 'AGE']);
      expect(row).toMatch(
        new RegExp(
          `^${name}\\s+pro\\s+True\\s+\\["${name}.tenantry.localhost","chat.acme.test"\\]\\s+Provisioned\\s+`,
        ),
      );
      const narrow = await run(kubectl, ['--kubeconfig', kubeconfig, 'get', 'tn', name]);
      expect(narrow.stdout.split('\n')[0]?.split(/\s+/)).toEqual(['NAME', 'PLAN', 'READY', 'HOSTS', 'AGE']);

      const waited = await run(kubectl, [
        '--kubeconfig',
        kubeconfig,
        'wait',
        '--for=condition=Ready',
        `tenant/${name}`,
        '--timeout=10s',
      ]);
      expect(waited.stdout).toContain('condition met');
    } finally {
      await deleteTenant(api, name);
    }
  });
});

describe('applyManifests', () => {
  test('refuses a field the schema does not declare, naming the object and the field', async ({ kube }) => {
    const api = kube.makeApiClient(CustomObjectsApi);
    const name = uniqueName('crd');
    try {
      await expect(
        applyManifests(kube, [tenant(name, { ...VALID_SPEC, colour: 'blue' })], FIELD_MANAGER),
      ).rejects.toThrow(
        new RegExp(`^while applying Tenant ${name}: .*\\.spec\\.colour: field not declared in schema$`),
      );
    } finally {
      await deleteTenant(api, name);
    }
  });
});

describe('Plan', () => {
  test('applyDefaultPlans applies free, pro and enterprise as written in config/', async ({ kube }) => {
    // Shared with every test on this API server, and applied with the same content each time.
    await applyDefaultPlans(kube);
    await applyDefaultPlans(kube);
    const api = kube.makeApiClient(CustomObjectsApi);
    const expected = loadManifests(
      join(REPO_ROOT, 'operators/tenant-operator/config/default-plans.yaml'),
    ) as Plan[];
    expect(expected.map((p) => p.metadata.name)).toEqual(['free', 'pro', 'enterprise']);
    for (const plan of expected) {
      const stored = (await api.getClusterCustomObject({ ...PLANS, name: plan.metadata.name })) as Plan;
      expect(stored.spec).toEqual(plan.spec);
    }
    const free = (await api.getClusterCustomObject({ ...PLANS, name: 'free' })) as Plan;
    expect(free.spec.rateLimit.requestsPerMinute).toBe(100);
  });

  const validPlan = {
    rateLimit: { requestsPerMinute: 10 },
    chat: { monthlyTokens: 0 },
    kafka: { partitions: 1, retentionHours: 1 },
    postgres: { connectionLimit: 1 },
  };
  const plan = (name: string, spec: object): KubernetesObject & { spec: object } => ({
    apiVersion: TENANT_API_VERSION,
    kind: 'Plan',
    metadata: { name },
    spec,
  });

  test('accepts the smallest valid plan', async ({ kube }) => {
    await dryRunCreate(kube, plan(uniqueName('crd'), validPlan), PLANS);
  });

  const invalidPlans: { case: string; name?: string; spec: object; message: string }[] = [
    {
      case: '0 partitions',
      spec: { ...validPlan, kafka: { partitions: 0, retentionHours: 24 } },
      message:
        'spec.kafka.partitions: Invalid value: 0: spec.kafka.partitions in body should be greater than or equal to 1',
    },
    {
      case: '101 partitions',
      spec: { ...validPlan, kafka: { partitions: 101, retentionHours: 24 } },
      message:
        'spec.kafka.partitions: Invalid value: 101: spec.kafka.partitions in body should be less than or equal to 100',
    },
    {
      case: 'a retention over a year',
      spec: { ...validPlan, kafka: { partitions: 1, retentionHours: 8761 } },
      message: 'spec.kafka.retentionHours: Invalid value: 8761',
    },
    {
      case: 'a connection limit of 0',
      spec: { ...validPlan, postgres: { connectionLimit: 0 } },
      message: 'spec.postgres.connectionLimit: Invalid value: 0',
    },
    {
      case: 'a rate limit of 0',
      spec: { ...validPlan, rateLimit: { requestsPerMinute: 0 } },
      message: 'spec.rateLimit.requestsPerMinute: Invalid value: 0',
    },
    {
      case: 'negative monthly tokens',
      spec: { ...validPlan, chat: { monthlyTokens: -1 } },
      message: 'spec.chat.monthlyTokens: Invalid value: -1',
    },
    {
      case: 'no postgres section',
      spec: { rateLimit: validPlan.rateLimit, chat: validPlan.chat, kafka: validPlan.kafka },
      message: 'spec.postgres: Required value',
    },
    {
      case: 'an unknown field',
      spec: { ...validPlan, kafka: { ...validPlan.kafka, replicas: 3 } },
      message: 'unknown field "spec.kafka.replicas"',
    },
    {
      case: 'a name with capitals',
      name: 'Gold',
      spec: validPlan,
      message: 'metadata.name "Gold" must be a DNS label of 1-40 characters',
    },
  ];

  test.for(invalidPlans)('refuses a plan with $case, naming the field', async (invalid, { kube }) => {
    const refused = await rejection(
      dryRunCreate(kube, plan(invalid.name ?? uniqueName('crd'), invalid.spec), PLANS),
    );
    expect(refused.message).toContain(invalid.message);
  });
});
