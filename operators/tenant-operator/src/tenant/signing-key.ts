import { createHash, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import type { CoreV1Api, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { isNotFound } from '../kube-errors.ts';
import {
  MANAGED_BY,
  MANAGED_BY_LABEL,
  publicKeysConfigMapName,
  signingKeySecretName,
  TENANT_LABEL,
} from './names.ts';
import { tenantSecret } from './secrets.ts';
import type { Tenant } from './types.ts';

/**
 * Each tenant's access tokens are signed with a key pair of its own (ES256), generated once at
 * provisioning and kept in a Secret: a token of tenant A can never verify under tenant B's key.
 * The key is never regenerated while its Secret exists (that would log every user out); a Secret
 * deleted out of band is replaced by a new key, with a new key id.
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

export async function ensureSigningKey(
  core: CoreV1Api,
  tenant: Tenant,
  namespace: string,
): Promise<SigningKey> {
  const name = signingKeySecretName(tenant.metadata.name);
  try {
    const existing = await core.readNamespacedSecret({ name, namespace });
    const keyId = Buffer.from(existing.data?.kid ?? '', 'base64').toString('utf8');
    const jwks = Buffer.from(existing.data?.['jwks.json'] ?? '', 'base64').toString('utf8');
    if (keyId && jwks) return { secretName: name, keyId, jwks };
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const { privateJwk, publicJwk, keyId } = generateSigningKey();
  const jwks = JSON.stringify({ keys: [publicJwk] });
  const body: V1Secret = {
    ...tenantSecret(tenant.metadata.name, name, namespace),
    stringData: { kid: keyId, 'private.jwk': JSON.stringify(privateJwk), 'jwks.json': jwks },
  };
  try {
    await core.createNamespacedSecret({ namespace, body });
  } catch (error) {
    // Another writer created it between our read and create (e.g. a previous leader): keep theirs.
    if ((error as { code?: number }).code === 409) return ensureSigningKey(core, tenant, namespace);
    throw error;
  }
  return { secretName: name, keyId, jwks };
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

export async function deleteSigningKey(core: CoreV1Api, tenant: string, namespace: string): Promise<void> {
  try {
    await core.deleteNamespacedConfigMap({ name: publicKeysConfigMapName(tenant), namespace });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  try {
    await core.deleteNamespacedSecret({ name: signingKeySecretName(tenant), namespace });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
