import { createHash, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import type { CoreV1Api, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { Tenant } from '@tenantry/tenant-api';
import {
  MANAGED_BY,
  MANAGED_BY_LABEL,
  publicKeysConfigMapName,
  signingKeySecretName,
  TENANT_LABEL,
} from '@tenantry/tenant-api';
import { isNotFound } from '../kube-errors.ts';
import { deleteSecret, readKeysSecret, type SecretNamespaces, tenantSecret } from './secrets.ts';

/**
 * Each tenant's access tokens are signed with a key pair of its own (ES256), generated once at
 * provisioning and kept in a Secret: a token of tenant A can never verify under tenant B's key.
 * The Secret is in the keys namespace, which services other than auth cannot read. The key is never
 * regenerated while its Secret exists (that would log every user out); a Secret deleted out of band
 * is replaced by a new key, with a new key id.
 */
export const SIGNING_ALGORITHM = 'ES256';

export interface SigningKey {
  secretName: string;
  keyId: string;
  /** The public JWKS, serialized: published for verifiers by publicKeysConfigMap. */
  jwks: string;
}

/** RFC 7638 thumbprint of an EC public key: SHA-256 over the required members in lexical order. */
export function jwkThumbprint(jwk: JsonWebKey): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

export function generateSigningKey(): { privateJwk: JsonWebKey; publicJwk: JsonWebKey; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk = publicKey.export({ format: 'jwk' });
  const keyId = jwkThumbprint(publicJwk);
  const meta = { kid: keyId, alg: SIGNING_ALGORITHM, use: 'sig' };
  return {
    privateJwk: { ...privateKey.export({ format: 'jwk' }), ...meta },
    publicJwk: { ...publicJwk, ...meta },
    keyId,
  };
}

function keyOf(name: string, secret: V1Secret | undefined): SigningKey | undefined {
  const keyId = Buffer.from(secret?.data?.kid ?? '', 'base64').toString('utf8');
  const jwks = Buffer.from(secret?.data?.['jwks.json'] ?? '', 'base64').toString('utf8');
  return keyId && jwks && secret?.data?.['private.jwk'] ? { secretName: name, keyId, jwks } : undefined;
}

/**
 * The tenant's signing key, from its Secret in the keys namespace, created there when missing. A key
 * an older install left in the platform namespace is moved (same key: tokens already issued stay
 * valid), and then no service can read it any longer.
 */
export async function ensureSigningKey(
  core: CoreV1Api,
  tenant: Tenant,
  namespaces: SecretNamespaces,
): Promise<SigningKey> {
  const name = signingKeySecretName(tenant.metadata.name);
  const { current, legacy } = await readKeysSecret(core, name, namespaces);
  const existing = keyOf(name, current);
  if (existing) return existing;
  const adopted = keyOf(name, legacy);
  let key: SigningKey;
  let body: V1Secret;
  if (adopted && legacy?.data) {
    key = adopted;
    body = { ...tenantSecret(tenant.metadata.name, name, namespaces.keys), data: legacy.data };
  } else {
    const { privateJwk, publicJwk, keyId } = generateSigningKey();
    key = { secretName: name, keyId, jwks: JSON.stringify({ keys: [publicJwk] }) };
    body = {
      ...tenantSecret(tenant.metadata.name, name, namespaces.keys),
      stringData: { kid: keyId, 'private.jwk': JSON.stringify(privateJwk), 'jwks.json': key.jwks },
    };
  }
  try {
    if (current) {
      // Emptied or broken out of band: replaced, as a deleted one would be.
      await core.replaceNamespacedSecret({ name, namespace: namespaces.keys, body });
    } else {
      await core.createNamespacedSecret({ namespace: namespaces.keys, body });
    }
  } catch (error) {
    // Another writer created it between our read and create (e.g. a previous leader): keep theirs.
    if ((error as { code?: number }).code === 409) return ensureSigningKey(core, tenant, namespaces);
    throw error;
  }
  if (legacy) await deleteSecret(core, name, namespaces.platform);
  return key;
}

/** The ConfigMap publishing the tenant's public keys, applied (server-side) every reconcile. */
export function publicKeysConfigMap(tenant: string, namespace: string, key: SigningKey): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: publicKeysConfigMapName(tenant),
      namespace,
      labels: { [TENANT_LABEL]: tenant, [MANAGED_BY_LABEL]: MANAGED_BY },
    },
    data: { kid: key.keyId, 'jwks.json': key.jwks },
  };
}

export async function deleteSigningKey(
  core: CoreV1Api,
  tenant: string,
  namespaces: SecretNamespaces,
): Promise<void> {
  try {
    await core.deleteNamespacedConfigMap({
      name: publicKeysConfigMapName(tenant),
      namespace: namespaces.platform,
    });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  // Where it is, and where an older install left it.
  await deleteSecret(core, signingKeySecretName(tenant), namespaces.keys);
  await deleteSecret(core, signingKeySecretName(tenant), namespaces.platform);
}
