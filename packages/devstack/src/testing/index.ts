import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import postgres from 'postgres';
import { test as base, inject } from 'vitest';
import { loadConfig } from '../config.ts';
import type { Endpoints } from '../endpoints.ts';

export {
  type Mail,
  type MailAddress,
  type MailpitClient,
  type MailSummary,
  mailpitClient,
  uniqueMailbox,
} from './mailpit.ts';
export { type StripeMockOptions, stripeMock } from './stripe.ts';

/**
 * Helpers for tests that run against the devstack started by the global setup. Each gives a test its
 * own resource (database, namespace, topic prefix, ClickHouse database), so test files run in parallel
 * without seeing each other.
 */
export function devstack(): Endpoints {
  return inject('devstack');
}

/** The environment tests run in plus `extra`, for the tools they start (helm, kubectl, ...). */
export function childEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...loadConfig('test').environment, ...extra };
}

/** Polling bounds for conditions that settle in milliseconds on an idle machine and seconds on a loaded one. */
export const EVENTUALLY = { timeout: 30_000, interval: 100 };

/** Like expect.poll, but usable in beforeAll (where expect is not): waits until `check` is true. */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  options: { timeout: number; interval: number } = EVENTUALLY,
): Promise<void> {
  const deadline = Date.now() + options.timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeout} ms waiting for ${what}`);
    await sleep(options.interval);
  }
}

/** A DNS-label-safe unique name: `prefix-<8 hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export function adminSql(
  options: postgres.Options<Record<string, postgres.PostgresType>> = {},
): postgres.Sql {
  return postgres(devstack().postgres.url, { max: 2, onnotice: () => {}, ...options });
}

export interface TestDatabase {
  name: string;
  /** Superuser URL to this database. */
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const name = uniqueName(prefix).replaceAll('-', '_');
  const admin = adminSql();
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(devstack().postgres.url);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const sql = adminSql();
      try {
        await sql.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  };
}

/**
 * Creates service account `name` in `namespace` and returns a KubeConfig that authenticates as it with
 * a token from the TokenRequest API: tests exercise RBAC with real credentials, not impersonation.
 */
export async function serviceAccountKubeConfig(
  admin: KubeConfig,
  namespace: string,
  name: string,
): Promise<KubeConfig> {
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const core = admin.makeApiClient(CoreV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  const request = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const cluster = admin.getCurrentCluster();
  const token = request.status?.token;
  if (!cluster || !token)
    throw new Error(`could not obtain a token for service account ${namespace}/${name}`);
  const user = `system:serviceaccount:${namespace}:${name}`;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: user, token }],
    contexts: [{ name: user, cluster: cluster.name, user }],
    currentContext: user,
  });
  return kc;
}

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(devstack().kube.kubeconfig);
  return kc;
}

export interface TestFixtures {
  /** A fresh PostgreSQL database, dropped after the test. */
  database: TestDatabase;
  /** A unique prefix for Kafka topics and consumer groups. */
  topicPrefix: string;
  /** A fresh namespace on the API server (namespaces are never deleted: no namespace controller runs). */
  namespace: string;
  kube: KubeConfig;
}

export const test = base.extend<TestFixtures>({
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads the fixture's dependencies from this pattern
  database: async ({}, use) => {
    const database = await createTestDatabase();
    await use(database);
    await database.drop();
  },
  // biome-ignore lint/correctness/noEmptyPattern: as above
  topicPrefix: async ({}, use) => {
    await use(uniqueName('test'));
  },
  // biome-ignore lint/correctness/noEmptyPattern: as above
  kube: async ({}, use) => {
    await use(kubeConfig());
  },
  namespace: async ({ kube }, use) => {
    const { CoreV1Api } = await import('@kubernetes/client-node');
    const name = uniqueName('test');
    await kube.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
    await use(name);
  },
});
