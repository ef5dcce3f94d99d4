import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CoreV1Api,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import { adminSql, devstack, serviceAccountKubeConfig } from '@tenantry/devstack/testing';
import {
  appRoleName,
  appSecretName,
  databaseName,
  FINALIZER,
  ingressName,
  ownerSecretName,
  publicKeysConfigMapName,
  signingKeySecretName,
  topicNames,
} from '@tenantry/tenant-api';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { generateSigningKey } from './tenant/signing-key.ts';
import { type OperatorHarness, startOperatorHarness } from './test-support.ts';

/**
 * The operator end to end against the real API server (RBAC on, operator authenticated as its
 * service account), PostgreSQL and Kafka: one Tenant becomes a database, roles, Secrets, topics and
 * an Ingress, reported through conditions and Events; drift is repaired; suspend, resume and both
 * reclaim policies behave.
 */
let h: OperatorHarness;
const kafka = () =>
  new Kafka({ clientId: 'operator-test', brokers: devstack().kafka.brokers, logLevel: logLevel.NOTHING });
const READY = { timeout: 30_000, interval: 200 };
/** The users service's Role, as its chart ships it. */
const USERS_RBAC = fileURLToPath(new URL('../../../charts/users/files/rbac.yaml', import.meta.url));

beforeAll(async () => {
  h = await startOperatorHarness();
});
afterAll(async () => {
  await h?.stop();
});

async function waitReady(name: string) {
  await expect.poll(async () => (await h.condition(name, 'Ready'))?.status, READY).toBe('True');
}

async function databaseExists(name: string): Promise<boolean> {
  const sql = adminSql();
  try {
    const rows = await sql`select 1 from pg_database where datname = ${databaseName(name)}`;
    return rows.length === 1;
  } finally {
    await sql.end();
  }
}

async function topicPartitions(topic: string): Promise<number | undefined> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) return undefined;
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    return metadata.topics[0]?.partitions.length;
  } finally {
    await admin.disconnect();
  }
}

async function appUrl(name: string): Promise<string> {
  const secret = await h.admin
    .makeApiClient(CoreV1Api)
    .readNamespacedSecret({ name: appSecretName(name), namespace: h.namespace });
  return Buffer.from(secret.data?.url ?? '', 'base64').toString('utf8');
}

/** The tenant's credentials, signing key and public keys are all gone: nothing for services to follow. */
async function expectNoCredentialsOrKeys(name: string): Promise<void> {
  const core = h.admin.makeApiClient(CoreV1Api);
  for (const [secret, namespace] of [
    [appSecretName(name), h.namespace],
    [ownerSecretName(name), h.keysNamespace],
    [signingKeySecretName(name), h.keysNamespace],
  ] as const) {
    await expect(core.readNamespacedSecret({ name: secret, namespace }), secret).rejects.toMatchObject({
      code: 404,
    });
  }
  await expect(
    core.readNamespacedConfigMap({ name: publicKeysConfigMapName(name), namespace: h.namespace }),
  ).rejects.toMatchObject({ code: 404 });
}

describe('a Tenant is provisioned', () => {
  test('database, roles, Secret, migrations, topics and Ingress, with every condition True', async () => {
    const name = h.tenantName('acme');
    await h.createTenant(name, {
      plan: 'pro',
      domains: [`chat.${name}.example`],
      admin: { email: `ops@${name}.example` },
    });
    await waitReady(name);

    const tenant = await h.getTenant(name);
    expect(tenant?.metadata.finalizers).toContain(FINALIZER);
    expect(tenant?.status?.observedGeneration).toBe(tenant?.metadata.generation);
    const types = tenant?.status?.conditions?.map((c) => `${c.type}=${c.status}`);
    expect(types).toEqual([
      'DatabaseReady=True',
      'MigrationsApplied=True',
      'TopicsReady=True',
      'RoutesReady=True',
      'Ready=True',
    ]);
    for (const condition of tenant?.status?.conditions ?? []) {
      expect(condition.reason).not.toBe('');
      expect(condition.lastTransitionTime).toMatch(/Z$/);
    }
    expect(tenant?.status?.database).toMatchObject({
      name: databaseName(name),
      secretName: appSecretName(name),
    });
    expect(tenant?.status?.database?.migrationsVersion).toMatch(/^platform@/);
    expect(tenant?.status?.hosts).toEqual([`${name}.${h.baseDomain}`, `chat.${name}.example`]);
    expect(tenant?.status?.topics).toEqual(topicNames(name));
    expect(tenant?.status?.readySeconds).toBeGreaterThan(0);

    // Its own token signing key: a public JWKS whose kid is in status, and a private key beside it,
    // in the keys namespace.
    const keySecret = await h.admin.makeApiClient(CoreV1Api).readNamespacedSecret({
      name: tenant?.status?.identity?.signingKeySecret ?? '',
      namespace: h.keysNamespace,
    });
    const jwks = JSON.parse(Buffer.from(keySecret.data?.['jwks.json'] ?? '', 'base64').toString('utf8'));
    expect(jwks.keys).toEqual([
      expect.objectContaining({
        kty: 'EC',
        crv: 'P-256',
        alg: 'ES256',
        kid: tenant?.status?.identity?.keyId,
      }),
    ]);
    expect(jwks.keys[0]).not.toHaveProperty('d');
    // The same public JWKS published for verifiers, who read no Secret.
    const published = await h.admin.makeApiClient(CoreV1Api).readNamespacedConfigMap({
      name: publicKeysConfigMapName(name),
      namespace: h.namespace,
    });
    expect(published.data).toEqual({
      kid: tenant?.status?.identity?.keyId,
      'jwks.json': JSON.stringify(jwks),
    });
    expect(
      JSON.parse(Buffer.from(keySecret.data?.['private.jwk'] ?? '', 'base64').toString('utf8')),
    ).toHaveProperty('d');

    // The Secret's credentials work, as the app role, inside the tenant's database only.
    const sql = postgres(await appUrl(name), { max: 1, onnotice: () => {} });
    try {
      const [who] = await sql<
        { user: string; db: string }[]
      >`select current_user as user, current_database() as db`;
      expect(who).toEqual({ user: appRoleName(name), db: databaseName(name) });
      await sql`insert into tenant_settings (key, value) values ('theme', ${sql.json({ dark: true })})`;
      // The operator wrote spec.admin for the auth service; the app role reads it and adds its own.
      expect(await sql`select key, value from tenant_settings order by key`).toEqual([
        { key: 'admin', value: { email: `ops@${name}.example` } },
        { key: 'theme', value: { dark: true } },
      ]);
    } finally {
      await sql.end();
    }

    // Topic partitions and retention come from the plan (pro: 3 partitions, 168 h).
    expect(await topicPartitions(topicNames(name)[0] ?? '')).toBe(3);
    const admin = kafka().admin();
    await admin.connect();
    const configs = await admin.describeConfigs({
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: topicNames(name)[0] ?? '', configNames: ['retention.ms'] },
      ],
      includeSynonyms: false,
    });
    await admin.disconnect();
    expect(configs.resources[0]?.configEntries[0]?.configValue).toBe(String(168 * 3_600_000));

    // The Ingress routes every host to the gateway.
    const ingress = await h.admin
      .makeApiClient(NetworkingV1Api)
      .readNamespacedIngress({ name: ingressName(name), namespace: h.namespace });
    expect(ingress.spec?.rules?.map((r) => r.host)).toEqual(tenant?.status?.hosts);
    expect(ingress.spec?.ingressClassName).toBe('nginx');
    expect(ingress.metadata?.annotations?.['tenantry.dev/suspended']).toBe('false');

    // kubectl describe has an Event for the steps.
    const events = await h.admin.makeApiClient(CoreV1Api).listNamespacedEvent({
      namespace: 'default',
      fieldSelector: `involvedObject.name=${name},involvedObject.kind=Tenant`,
    });
    const reasons = events.items.map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['Provisioned', 'Applied', 'Reconciled', 'Routed']));
  });

  test('every tenant gets its own signing key, kept across reconciles', async () => {
    const [a, b] = [h.tenantName('keya'), h.tenantName('keyb')];
    await h.createTenant(a, {});
    await h.createTenant(b, {});
    await waitReady(a);
    await waitReady(b);
    const keyA = (await h.getTenant(a))?.status?.identity?.keyId;
    const keyB = (await h.getTenant(b))?.status?.identity?.keyId;
    expect(keyA).toBeTruthy();
    expect(keyA).not.toBe(keyB);
    // A spec change triggers a reconcile; the key must not be rotated by it.
    await h.patchTenantSpec(a, { displayName: 'renamed' });
    await expect.poll(async () => (await h.getTenant(a))?.status?.observedGeneration, READY).toBe(2);
    expect((await h.getTenant(a))?.status?.identity?.keyId).toBe(keyA);
  });

  test('a key and owner credentials left in the platform namespace by an older install are moved, not replaced', async () => {
    const name = h.tenantName('legacy');
    const core = h.admin.makeApiClient(CoreV1Api);
    // What an install from before the keys namespace left: both private Secrets beside the app's.
    const key = generateSigningKey();
    const ownerPassword = 'a-password-from-the-older-install';
    const labels = { 'tenantry.dev/tenant': name, 'app.kubernetes.io/managed-by': 'tenantry-operator' };
    await core.createNamespacedSecret({
      namespace: h.namespace,
      body: {
        metadata: { name: signingKeySecretName(name), labels },
        stringData: {
          kid: key.keyId,
          'private.jwk': JSON.stringify(key.privateJwk),
          'jwks.json': JSON.stringify({ keys: [key.publicJwk] }),
        },
      },
    });
    await core.createNamespacedSecret({
      namespace: h.namespace,
      body: { metadata: { name: ownerSecretName(name), labels }, stringData: { password: ownerPassword } },
    });

    await h.createTenant(name, {});
    await waitReady(name);
    // The same key (tokens already issued stay valid), now where no service but auth may read it.
    expect((await h.getTenant(name))?.status?.identity?.keyId).toBe(key.keyId);
    const moved = await core.readNamespacedSecret({
      name: signingKeySecretName(name),
      namespace: h.keysNamespace,
    });
    expect(Buffer.from(moved.data?.kid ?? '', 'base64').toString('utf8')).toBe(key.keyId);
    const owner = await core.readNamespacedSecret({
      name: ownerSecretName(name),
      namespace: h.keysNamespace,
    });
    expect(Buffer.from(owner.data?.password ?? '', 'base64').toString('utf8')).toBe(ownerPassword);
    for (const secret of [signingKeySecretName(name), ownerSecretName(name)]) {
      await expect(
        core.readNamespacedSecret({ name: secret, namespace: h.namespace }),
        secret,
      ).rejects.toMatchObject({
        code: 404,
      });
    }
  });

  test('a Tenant naming an unknown plan says why it is not Ready, and becomes Ready once the plan exists', async () => {
    const name = h.tenantName('noplan');
    await h.createTenant(name, { plan: `missing-${name}` });
    await expect.poll(async () => (await h.condition(name, 'Ready'))?.reason, READY).toBe('PlanNotFound');
    expect((await h.condition(name, 'Ready'))?.message).toContain(`missing-${name}`);
    await h.patchTenantSpec(name, { plan: 'free' });
    await waitReady(name);
  });
});

describe('private Secrets', () => {
  test("a service's account (the users chart's RBAC) reads app credentials, never a signing key or owner credentials", async () => {
    const name = h.tenantName('priv');
    await h.createTenant(name, {});
    await waitReady(name);
    // The users service's shipped Role, bound in the platform namespace, as its chart does.
    const rules = (parse(readFileSync(USERS_RBAC, 'utf8')) as { rules: V1PolicyRule[] }).rules;
    const rbac = h.admin.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace: h.namespace, body: { metadata: { name: 'users' }, rules } });
    const users = await serviceAccountKubeConfig(h.admin, h.namespace, 'users');
    await rbac.createNamespacedRoleBinding({
      namespace: h.namespace,
      body: {
        metadata: { name: 'users' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'users' },
        subjects: [{ kind: 'ServiceAccount', name: 'users', namespace: h.namespace }],
      },
    });
    const asUsers = users.makeApiClient(CoreV1Api);

    // Everything it can see: the app credentials, and no private Secret of any tenant.
    await expect
      .poll(
        async () =>
          (await asUsers.listNamespacedSecret({ namespace: h.namespace })).items.map((s) => s.metadata?.name),
        READY,
      )
      .toContain(appSecretName(name));
    const visible = (await asUsers.listNamespacedSecret({ namespace: h.namespace })).items.map(
      (s) => s.metadata?.name ?? '',
    );
    expect(visible.filter((secret) => /-(signing-key|db-owner)$/.test(secret))).toEqual([]);
    // And the keys namespace is out of its reach, by name or by listing.
    await expect(
      asUsers.readNamespacedSecret({ name: signingKeySecretName(name), namespace: h.keysNamespace }),
    ).rejects.toMatchObject({ code: 403 });
    await expect(
      asUsers.readNamespacedSecret({ name: ownerSecretName(name), namespace: h.keysNamespace }),
    ).rejects.toMatchObject({ code: 403 });
    await expect(asUsers.listNamespacedSecret({ namespace: h.keysNamespace })).rejects.toMatchObject({
      code: 403,
    });
  });
});

describe('drift', () => {
  test('a role, topic and Ingress removed out of band come back without touching the data', async () => {
    const name = h.tenantName('drift');
    await h.createTenant(name, {});
    await waitReady(name);
    const app = postgres(await appUrl(name), { max: 1, onnotice: () => {} });
    await app`insert into tenant_settings (key, value) values ('kept', '1'::jsonb)`;
    await app.end();

    // A role with privileges must lose them in its database before it can be dropped.
    const inTenantDb = new URL(devstack().postgres.url);
    inTenantDb.pathname = `/${databaseName(name)}`;
    const sql = postgres(inTenantDb.toString(), { max: 1, onnotice: () => {} });
    await sql.unsafe(`drop owned by "${appRoleName(name)}"`);
    await sql.unsafe(`drop role "${appRoleName(name)}"`);
    await sql.end();
    const admin = kafka().admin();
    await admin.connect();
    await admin.deleteTopics({ topics: topicNames(name) });
    await admin.disconnect();
    await h.admin
      .makeApiClient(NetworkingV1Api)
      .deleteNamespacedIngress({ name: ingressName(name), namespace: h.namespace });

    await expect.poll(() => topicPartitions(topicNames(name)[0] ?? ''), READY).toBe(1);
    await expect
      .poll(async () => {
        try {
          await h.admin
            .makeApiClient(NetworkingV1Api)
            .readNamespacedIngress({ name: ingressName(name), namespace: h.namespace });
          return true;
        } catch {
          return false;
        }
      }, READY)
      .toBe(true);
    await expect
      .poll(async () => {
        const again = postgres(await appUrl(name), { max: 1, onnotice: () => {}, connect_timeout: 2 });
        try {
          return (await again<{ key: string }[]>`select key from tenant_settings`).map((r) => r.key);
        } catch {
          return [];
        } finally {
          await again.end();
        }
      }, READY)
      .toEqual(['kept']);
  });
});

describe('suspend and resume', () => {
  test('suspension blocks logins and marks the route; resuming restores both; no data is touched', async () => {
    const name = h.tenantName('susp');
    await h.createTenant(name, {});
    await waitReady(name);
    const url = await appUrl(name);
    const writer = postgres(url, { max: 1, onnotice: () => {} });
    await writer`insert into tenant_settings (key, value) values ('before', '1'::jsonb)`;
    await writer.end();

    await h.patchTenantSpec(name, { suspended: true });
    await expect.poll(async () => (await h.condition(name, 'Ready'))?.reason, READY).toBe('Suspended');
    expect((await h.condition(name, 'Ready'))?.status).toBe('False');
    const blocked = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 3 });
    await expect(blocked`select 1`).rejects.toThrow(/not permitted to log in/);
    await blocked.end();
    const ingress = await h.admin
      .makeApiClient(NetworkingV1Api)
      .readNamespacedIngress({ name: ingressName(name), namespace: h.namespace });
    expect(ingress.metadata?.annotations?.['tenantry.dev/suspended']).toBe('true');

    await h.patchTenantSpec(name, { suspended: false });
    await waitReady(name);
    const reader = postgres(url, { max: 1, onnotice: () => {} });
    expect(await reader`select key from tenant_settings`).toEqual([{ key: 'before' }]);
    await reader.end();
  });
});

describe('deletion', () => {
  test('reclaimPolicy Retain keeps the database and topics, removes the route, credentials and keys, locks the roles; re-created, the data is back only when adopted by uid', async () => {
    const name = h.tenantName('keep');
    await h.createTenant(name, {});
    await waitReady(name);
    const retainedUid = (await h.getTenant(name))?.metadata.uid ?? '';
    expect(retainedUid).toMatch(/^[0-9a-f-]{36}$/);
    const before = postgres(await appUrl(name), { max: 1, onnotice: () => {} });
    await before`insert into tenant_settings (key, value) values ('kept', ${before.json({ yes: true })})`;
    await before.end();
    await h.deleteTenant(name);
    await expect.poll(() => h.getTenant(name), READY).toBeUndefined();
    expect(await databaseExists(name)).toBe(true);
    expect(await topicPartitions(topicNames(name)[0] ?? '')).toBe(1);
    await expect(
      h.admin
        .makeApiClient(NetworkingV1Api)
        .readNamespacedIngress({ name: ingressName(name), namespace: h.namespace }),
    ).rejects.toMatchObject({ code: 404 });
    const sql = adminSql();
    const [role] = await sql<
      { rolcanlogin: boolean }[]
    >`select rolcanlogin from pg_roles where rolname = ${appRoleName(name)}`;
    await sql.end();
    expect(role?.rolcanlogin).toBe(false);
    // Nothing left for services to follow: no credentials, no key, no public keys.
    await expectNoCredentialsOrKeys(name);

    // Re-created by someone else with the same name: not served, and nothing reaches the old data.
    await h.createTenant(name, {});
    await expect
      .poll(async () => (await h.condition(name, 'Ready'))?.reason, READY)
      .toBe('RetainedDataExists');
    expect((await h.condition(name, 'DatabaseReady'))?.message).toContain(retainedUid);
    await expectNoCredentialsOrKeys(name);

    // Adopted by naming the retained tenant's uid: new credentials reach the same data.
    await h.patchTenantSpec(name, { database: { reclaimPolicy: 'Retain', adoptRetainedFrom: retainedUid } });
    await waitReady(name);
    const after = postgres(await appUrl(name), { max: 1, onnotice: () => {} });
    try {
      expect(await after`select value from tenant_settings where key = 'kept'`).toEqual([
        { value: { yes: true } },
      ]);
    } finally {
      await after.end();
    }
  });

  test('reclaimPolicy Delete drops the database, roles, topics and Secrets, even with open connections', async () => {
    const name = h.tenantName('drop');
    await h.createTenant(name, { database: { reclaimPolicy: 'Delete' } });
    await waitReady(name);
    const open = postgres(await appUrl(name), { max: 1, onnotice: () => {} });
    await open`select 1`;
    await h.deleteTenant(name);
    await expect.poll(() => h.getTenant(name), READY).toBeUndefined();
    await open.end().catch(() => {});
    expect(await databaseExists(name)).toBe(false);
    expect(await topicPartitions(topicNames(name)[0] ?? '')).toBeUndefined();
    await expectNoCredentialsOrKeys(name);
  });

  test('a tenant deleted while it is still provisioning is cleaned up', async () => {
    const name = h.tenantName('early');
    await h.createTenant(name, { database: { reclaimPolicy: 'Delete' } });
    await h.deleteTenant(name);
    await expect.poll(() => h.getTenant(name), READY).toBeUndefined();
    await expect.poll(() => databaseExists(name), READY).toBe(false);
  });
});

describe('a tenant owner cannot run code as the operator', () => {
  test('functions planted in the tenant database to shadow what the operator calls never run as superuser', async () => {
    const name = h.tenantName('hijack');
    await h.createTenant(name, { database: { reclaimPolicy: 'Delete' } });
    await waitReady(name);
    const secret = await h.admin
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ name: ownerSecretName(name), namespace: h.keysNamespace });
    const owner = postgres(Buffer.from(secret.data?.url ?? '', 'base64').toString('utf8'), {
      max: 1,
      onnotice: () => {},
    });
    const ownerRole = Buffer.from(secret.data?.username ?? '', 'base64').toString('utf8');
    try {
      // The attack: an exact-type match (int) beats pg_catalog's bigint version during overload
      // resolution, so an unqualified call with an int argument would run the owner's function, with
      // the caller's privileges. Only a superuser caller is worth anything to the attacker.
      await owner`create table public.hijacked (by text not null, fn text not null)`;
      for (const fn of ['pg_advisory_xact_lock', 'pg_advisory_lock', 'pg_advisory_unlock', 'hashtext']) {
        const args = fn === 'hashtext' ? 'varchar' : 'integer';
        const returns = fn === 'hashtext' ? 'integer' : fn === 'pg_advisory_unlock' ? 'boolean' : 'void';
        const result =
          fn === 'hashtext' ? 'return 0;' : fn === 'pg_advisory_unlock' ? 'return true;' : 'return;';
        await owner.unsafe(`
          create function public.${fn}(${args}) returns ${returns} language plpgsql
          set search_path = pg_catalog as $$
          begin
            if (select rolsuper from pg_roles where rolname = current_user) then
              insert into public.hijacked (by, fn) values (current_user, '${fn}');
              execute format('alter role %I superuser', '${ownerRole}');
            end if;
            ${result}
          end $$`);
      }
      // A reconcile: a spec change bumps the generation, which the status then reports as observed.
      await h.patchTenantSpec(name, { displayName: `${name} again` });
      const generation = (await h.getTenant(name))?.metadata.generation;
      await expect
        .poll(async () => (await h.getTenant(name))?.status?.observedGeneration, READY)
        .toBe(generation);
      await waitReady(name);

      expect(await owner`select by, fn from public.hijacked`).toEqual([]);
      const [role] = await owner`select rolsuper from pg_roles where rolname = ${ownerRole}`;
      expect(role?.rolsuper).toBe(false);
    } finally {
      await owner.end();
    }
  });
});
