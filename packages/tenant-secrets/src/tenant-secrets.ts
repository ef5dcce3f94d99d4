import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { TENANT_LABEL } from '@tenantry/tenant-api';

/**
 * The contract with the tenant operator (docs/operator.md): per tenant, Secrets labelled
 * `tenantry.dev/tenant=<name>` and managed by the operator:
 * - `tenant-<name>-db`, in the platform namespace: the app role's credentials under host, port,
 *   database, username and password. Its `url` key is never read: it embeds the password, and nothing
 *   here may hold a string that could end up in a log.
 * - `tenant-<name>-signing-key`, in the keys namespace: the tenant's token signing key (`kid`,
 *   `private.jwk`, `jwks.json`); only auth is granted that namespace. The owner role's
 *   `tenant-<name>-db-owner` is there too, for the operator alone.
 * Verifiers read the public keys from the ConfigMap `tenant-<name>-jwks` in the platform namespace.
 */
export interface TenantCredentials {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
}

/** Reads the credentials of `tenant` from its Secret; errors name the Secret and key, never a value. */
export function credentialsFromSecret(tenant: string, secret: V1Secret): TenantCredentials {
  const { name, value } = secretReader(tenant, secret);
  const port = Number(value('port'));
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new Error(`${name}: key "port" is not a TCP port`);
  }
  return {
    host: value('host'),
    port,
    database: value('database'),
    username: value('username'),
    password: value('password'),
  };
}

export function sameCredentials(a: TenantCredentials, b: TenantCredentials): boolean {
  return (
    a.host === b.host &&
    a.port === b.port &&
    a.database === b.database &&
    a.username === b.username &&
    a.password === b.password
  );
}

/**
 * A tenant's token signing key as the operator writes it: the key id, the private key (a JWK, for
 * auth to sign with) and the public JWKS (for everyone who verifies).
 */
export interface TenantSigningKey {
  keyId: string;
  privateJwk: JsonWebKeyWithId;
  jwks: { keys: JsonWebKeyWithId[] };
}

export interface JsonWebKeyWithId {
  kid: string;
  kty: string;
  [member: string]: unknown;
}

function parseJson(name: string, key: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${name}: key "${key}" is not JSON`);
  }
}

function isJwk(value: unknown): value is JsonWebKeyWithId {
  const jwk = value as { kid?: unknown; kty?: unknown } | null;
  return typeof jwk?.kid === 'string' && typeof jwk.kty === 'string';
}

/** Reads the signing key of `tenant` from its Secret; errors name the Secret and key, never a value. */
export function signingKeyFromSecret(tenant: string, secret: V1Secret): TenantSigningKey {
  const { name, value } = secretReader(tenant, secret);
  const keyId = value('kid');
  const privateJwk = parseJson(name, 'private.jwk', value('private.jwk'));
  if (!isJwk(privateJwk) || privateJwk.kid !== keyId) {
    throw new Error(`${name}: key "private.jwk" is not a JWK with the Secret's kid`);
  }
  return { keyId, privateJwk, jwks: parseJwks(name, value('jwks.json'), keyId) };
}

/** The Secret's name and a reader of its keys, once the Secret is proven to be `tenant`'s. */
function secretReader(tenant: string, secret: V1Secret): { name: string; value(key: string): string } {
  return objectReader('Secret', tenant, secret, (encoded) => Buffer.from(encoded, 'base64').toString('utf8'));
}

/**
 * Reads the string values of an operator-written object (a Secret's are base64), once it is proven to
 * be `tenant`'s by its label. `name` is what error messages call it.
 */
function objectReader(
  kind: 'Secret' | 'ConfigMap',
  tenant: string,
  object: { metadata?: { name?: string; labels?: Record<string, string> }; data?: Record<string, string> },
  decode: (stored: string) => string,
): { name: string; value(key: string): string } {
  const name = object.metadata?.name ?? '(unnamed)';
  const label = object.metadata?.labels?.[TENANT_LABEL];
  if (label !== tenant) {
    throw new Error(`${kind} ${name} is labelled ${TENANT_LABEL}=${label ?? '(none)'}, expected ${tenant}`);
  }
  return {
    name: `${kind} ${name}`,
    value(key: string): string {
      const stored = object.data?.[key];
      if (!stored) throw new Error(`${kind} ${name} has no key "${key}"`);
      return decode(stored);
    },
  };
}

/**
 * A tenant's public keys as the operator publishes them for verifiers, in the ConfigMap
 * `tenant-<name>-jwks` (keys `kid` and `jwks.json`): the same JWKS as in the signing key Secret.
 */
export function publicKeysFromConfigMap(tenant: string, configMap: V1ConfigMap): TenantPublicKeys {
  const { name, value } = objectReader('ConfigMap', tenant, configMap, (text) => text);
  const keyId = value('kid');
  return { keyId, jwks: parseJwks(name, value('jwks.json'), keyId) };
}

export interface TenantPublicKeys {
  keyId: string;
  jwks: { keys: JsonWebKeyWithId[] };
}

function parseJwks(where: string, text: string, keyId: string): { keys: JsonWebKeyWithId[] } {
  let jwks: { keys?: unknown } | null;
  try {
    jwks = JSON.parse(text) as { keys?: unknown } | null;
  } catch {
    throw new Error(`${where}: key "jwks.json" is not JSON`);
  }
  const keys = Array.isArray(jwks?.keys) ? jwks.keys : [];
  if (keys.length === 0 || !keys.every(isJwk) || !keys.some((key) => key.kid === keyId)) {
    throw new Error(`${where}: key "jwks.json" is not a JWKS holding the kid`);
  }
  // Verifiers get public members only, whatever was written: a private "d" never leaves here.
  return { keys: keys.map(({ d: _d, ...publicMembers }) => publicMembers as JsonWebKeyWithId) };
}
