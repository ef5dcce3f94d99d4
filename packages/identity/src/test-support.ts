import { generateSigningKey } from '@tenantry/tenant-operator/testing';
import type { TenantSigningKey } from '@tenantry/tenant-secrets';

/** A key pair exactly as the operator generates it for a tenant, for tests. */
export function operatorKey(): TenantSigningKey {
  const { privateJwk, publicJwk, keyId } = generateSigningKey();
  return {
    keyId,
    privateJwk: privateJwk as TenantSigningKey['privateJwk'],
    jwks: { keys: [publicJwk as TenantSigningKey['privateJwk']] },
  };
}
