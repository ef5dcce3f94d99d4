import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { adminSql, devstack } from '@tenantry/devstack/testing';
import { TENANT_GROUP, TENANT_PLURAL, TENANT_VERSION, topicNames } from '@tenantry/tenant-api';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { dropTenantDatabase } from './tenant/database.ts';
import { type OperatorHarness, type Rules, shippedRules, startOperatorHarness } from './test-support.ts';

/**
 * Least privilege, both ways. The operator runs as its service account, so a missing rule fails every
 * other test; here, one operator per verb of the shipped rules runs with that verb taken away, and each
 * must fail the same onboarding scenario that succeeds with all of them. A verb whose removal changes
 * nothing would be a rule the operator does not need.
 */
const { Kafka, logLevel } = kafkajs;
/** Longer than the default renew deadline (10 s): a replica that cannot renew its Lease has stepped down. */
const LEADERSHIP_SETTLES_MS = 12_000;
const STEP_TIMEOUT_MS = 20_000;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface Variant {
  label: string;
  rules: Rules;
}

function variants(): Variant[] {
  const full = shippedRules();
  const result: Variant[] = [{ label: 'all rules', rules: full }];
  for (const scope of ['cluster', 'namespaced', 'keys'] as const) {
    full[scope].forEach((rule, index) => {
      for (const verb of rule.verbs) {
        const reduced = structuredClone(full);
        reduced[scope] = reduced[scope]
          .map((r, i) => (i === index ? { ...r, verbs: r.verbs.filter((v) => v !== verb) } : r))
          .filter((r) => r.verbs.length > 0);
        const where = scope === 'keys' ? ' (keys namespace)' : '';
        result.push({ label: `${verb} ${(rule.resources ?? []).join(',')}${where}`, rules: reduced });
      }
    });
  }
  return result;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(what);
}

/** Onboard, suspend, resume and delete one tenant; resolves with the step that did not happen, if any. */
async function scenario(h: OperatorHarness, name: string): Promise<string | undefined> {
  const ready = async (reason?: string) => {
    const condition = await h.condition(name, 'Ready');
    return reason ? condition?.reason === reason : condition?.status === 'True';
  };
  try {
    await h.createTenant(name, { database: { reclaimPolicy: 'Delete' } });
    await until('Ready', () => ready());
    // Drift: a credentials Secret edited out of band is repaired. The operator writes a Secret only
    // when it drifted, so this step is what needs `update secrets`.
    const core = h.admin.makeApiClient(CoreV1Api);
    const secret = { name: `tenant-${name}-db`, namespace: h.namespace };
    const tampered = Buffer.from('tampered.invalid').toString('base64');
    await core.patchNamespacedSecret({ ...secret, body: { data: { host: tampered } } }, mergePatch);
    await until(
      'Secret repaired',
      async () => (await core.readNamespacedSecret(secret)).data?.host !== tampered,
    );
    // The same for the owner's Secret, in the keys namespace.
    const owner = { name: `tenant-${name}-db-owner`, namespace: h.keysNamespace };
    await core.patchNamespacedSecret({ ...owner, body: { data: { host: tampered } } }, mergePatch);
    await until(
      'owner Secret repaired',
      async () => (await core.readNamespacedSecret(owner)).data?.host !== tampered,
    );
    await h.patchTenantSpec(name, { suspended: true });
    await until('Suspended', () => ready('Suspended'));
    await h.patchTenantSpec(name, { suspended: false });
    await until('Ready again', () => ready());
    // Resuming records DatabaseReady/Provisioned again with the same message: the recorder patches
    // the existing Event's count instead of creating another.
    await until('an Event counted twice', async () => {
      const events = await h.admin
        .makeApiClient(CoreV1Api)
        .listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` });
      return events.items.some((e) => (e.count ?? 0) >= 2);
    });
    await h.deleteTenant(name);
    await until('deleted', async () => (await h.getTenant(name)) === undefined);
    // An informer whose list or watch is refused degrades into re-listing and resync instead of
    // failing outright; the operator counts those refusals, and a healthy one has none.
    const metrics = await (await fetch(`http://127.0.0.1:${h.operator.ports.metrics}/metrics`)).text();
    const refused = /^tenantry_operator_informer_errors_total\{[^}]*reason="Forbidden"[^}]*\} [1-9]/m.exec(
      metrics,
    );
    if (refused) return `informers refused: ${refused[0]}`;
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const runs = variants().map((variant) => ({
  variant,
  name: '',
  harness: undefined as OperatorHarness | undefined,
}));

beforeAll(async () => {
  await Promise.all(
    runs.map(async (run) => {
      run.harness = await startOperatorHarness({ rules: run.variant.rules });
      run.name = run.harness.tenantName('rbac');
    }),
  );
}, 180_000);

afterAll(async () => {
  // Operators that lack a permission cannot clean up after themselves: do it as admin.
  const custom = runs[0]?.harness?.admin.makeApiClient(CustomObjectsApi);
  const sql = adminSql();
  const kafka = new Kafka({
    clientId: 'rbac-cleanup',
    brokers: devstack().kafka.brokers,
    logLevel: logLevel.NOTHING,
  }).admin();
  await kafka.connect();
  try {
    const names = runs.map((run) => run.name).filter(Boolean);
    await Promise.all(
      names.map(async (name) => {
        if (!custom) return;
        const ref = { group: TENANT_GROUP, version: TENANT_VERSION, plural: TENANT_PLURAL, name };
        await custom
          .patchClusterCustomObject({ ...ref, body: { metadata: { finalizers: [] } } }, mergePatch)
          .catch(() => {});
        await custom.deleteClusterCustomObject(ref).catch(() => {});
        await dropTenantDatabase(sql, name).catch(() => {});
      }),
    );
    // Only topics that exist: kafkajs retries the deletion of a missing one for seconds.
    const existing = new Set(await kafka.listTopics());
    const topics = names.flatMap(topicNames).filter((topic) => existing.has(topic));
    if (topics.length > 0) await kafka.deleteTopics({ topics }).catch(() => {});
  } finally {
    await kafka.disconnect();
    await sql.end({ timeout: 5 });
    await Promise.all(runs.map((run) => run.harness?.stop()));
  }
}, 180_000);

test('every verb of the shipped RBAC rules is needed, and together they are enough', {
  timeout: 240_000,
}, async () => {
  await new Promise((resolve) => setTimeout(resolve, LEADERSHIP_SETTLES_MS));
  const results = await Promise.all(
    runs.map(async ({ variant, harness, name }) => ({
      label: variant.label,
      failedAt: harness ? await scenario(harness, name) : 'no harness',
    })),
  );
  expect(results[0]).toEqual({ label: 'all rules', failedAt: undefined });
  const notNeeded = results.slice(1).filter((r) => r.failedAt === undefined);
  expect(notNeeded.map((r) => `${r.label} is not needed`)).toEqual([]);
  expect(results.length).toBeGreaterThan(15);
});
