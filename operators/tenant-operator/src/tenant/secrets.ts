import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import type { Tenant } from '@tenantry/tenant-api';
import {
  appRoleName,
  appSecretName,
  databaseName,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  ownerRoleName,
  ownerSecretName,
  TENANT_LABEL,
} from '@tenantry/tenant-api';
import { isNotFound } from '../kube-errors.ts';
import { generatePassword } from './database.ts';

/**
 * The tenant's database credentials live in two Secrets: the app role's in the platform namespace
 * (what services watch) and the owner role's in the keys namespace (only the operator reads it, for
 * migrations). A password is generated once and then always read back from its Secret, so a crash
 * between writing the Secret and setting the role's password converges on the next reconcile.
 */

/** Where the operator writes: services may read Secrets of `platform`; only auth is granted `keys`. */
export interface SecretNamespaces {
  platform: string;
  keys: string;
}

/** The envelope of every Secret the operator writes for a tenant: labelled so the watches and cleanup find it. */
export function tenantSecret(
  tenant: string,
  name: string,
  namespace: string,
): Pick<V1Secret, 'apiVersion' | 'kind' | 'metadata' | 'type'> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { [TENANT_LABEL]: tenant, [MANAGED_BY_LABEL]: MANAGED_BY } },
    type: 'Opaque',
  };
}

export interface DatabaseEndpoint {
  host: string;
  port: number;
}

export interface TenantCredentials {
  owner: { username: string; password: string };
  app: { username: string; password: string };
}

function secretBody(
  tenant: Tenant,
  name: string,
  namespace: string,
  username: string,
  password: string,
  endpoint: DatabaseEndpoint,
): V1Secret {
  const database = databaseName(tenant.metadata.name);
  const url = `postgres://${username}:${encodeURIComponent(password)}@${endpoint.host}:${endpoint.port}/${database}`;
  return {
    ...tenantSecret(tenant.metadata.name, name, namespace),
    stringData: { host: endpoint.host, port: String(endpoint.port), database, username, password, url },
  };
}

export async function readSecret(
  core: CoreV1Api,
  name: string,
  namespace: string,
): Promise<V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret({ name, namespace });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function decoded(secret: V1Secret, key: string): string | undefined {
  const encoded = secret.data?.[key];
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
}

/** Whether `existing` already holds exactly `desired`'s data and labels: then nothing is written. */
function upToDate(existing: V1Secret, desired: V1Secret): boolean {
  const want = desired.stringData ?? {};
  const have = Object.keys(existing.data ?? {});
  const labels = desired.metadata?.labels ?? {};
  return (
    have.length === Object.keys(want).length &&
    Object.entries(want).every(([key, value]) => decoded(existing, key) === value) &&
    Object.entries(labels).every(([key, value]) => existing.metadata?.labels?.[key] === value)
  );
}

/**
 * A Secret of the keys namespace, and where an install from before the keys namespace left it: in
 * the platform namespace (`legacy`, only when the keys namespace has none). The caller adopts a
 * legacy one's content, then deletes it with deleteSecret, so no service can read it any longer.
 */
export async function readKeysSecret(
  core: CoreV1Api,
  name: string,
  namespaces: SecretNamespaces,
): Promise<{ current?: V1Secret; legacy?: V1Secret }> {
  const current = await readSecret(core, name, namespaces.keys);
  if (current) return { current };
  const legacy = await readSecret(core, name, namespaces.platform);
  return legacy ? { legacy } : {};
}

/** Deletes the Secret; one already gone is fine. */
export async function deleteSecret(core: CoreV1Api, name: string, namespace: string): Promise<void> {
  try {
    await core.deleteNamespacedSecret({ name, namespace });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/**
 * Creates the Secret, or replaces it when it drifted from `body` (edited or emptied out of band);
 * an up-to-date Secret is only read. Invariant: after this, the Secret holds exactly `body`'s data.
 */
async function ensureSecret(
  core: CoreV1Api,
  body: V1Secret,
  namespace: string,
  existing: V1Secret | undefined,
): Promise<void> {
  const name = body.metadata?.name ?? '';
  if (existing === undefined) {
    await core.createNamespacedSecret({ namespace, body });
    return;
  }
  if (upToDate(existing, body)) return;
  await core.replaceNamespacedSecret({ name, namespace, body });
}

export async function ensureCredentials(
  core: CoreV1Api,
  tenant: Tenant,
  namespaces: SecretNamespaces,
  endpoint: DatabaseEndpoint,
): Promise<TenantCredentials> {
  const name = tenant.metadata.name;
  const roles = [
    {
      key: 'owner' as const,
      secret: ownerSecretName(name),
      username: ownerRoleName(name),
      namespace: namespaces.keys,
    },
    {
      key: 'app' as const,
      secret: appSecretName(name),
      username: appRoleName(name),
      namespace: namespaces.platform,
    },
  ];
  const credentials = {} as TenantCredentials;
  for (const role of roles) {
    const { current, legacy } =
      role.key === 'owner'
        ? await readKeysSecret(core, role.secret, namespaces)
        : { current: await readSecret(core, role.secret, role.namespace), legacy: undefined };
    const found = current ?? legacy;
    const password = (found && decoded(found, 'password')) || generatePassword();
    await ensureSecret(
      core,
      secretBody(tenant, role.secret, role.namespace, role.username, password, endpoint),
      role.namespace,
      current,
    );
    if (legacy) await deleteSecret(core, role.secret, namespaces.platform);
    credentials[role.key] = { username: role.username, password };
  }
  return credentials;
}

export async function deleteCredentials(
  core: CoreV1Api,
  tenant: string,
  namespaces: SecretNamespaces,
): Promise<void> {
  await deleteSecret(core, appSecretName(tenant), namespaces.platform);
  // Where it is, and where an older install left it.
  await deleteSecret(core, ownerSecretName(tenant), namespaces.keys);
  await deleteSecret(core, ownerSecretName(tenant), namespaces.platform);
}
