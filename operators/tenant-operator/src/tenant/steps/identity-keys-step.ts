import type { KubernetesObject } from '@kubernetes/client-node';
import type { TenantStatus } from '@tenantry/tenant-api';
import { kubeFailure } from '../failures.ts';
import type { StepContext } from '../reconcile-context.ts';
import { ensureSigningKey, publicKeysConfigMap } from '../signing-key.ts';

/**
 * The tenant's token signing key (Secret in the keys namespace, generated once) and its public JWKS
 * (ConfigMap in the platform namespace, for verifiers). Reported under DatabaseReady, as before the
 * split: a tenant whose keys cannot be written is not provisioned.
 */
export async function ensureIdentityKeys(ctx: StepContext): Promise<NonNullable<TenantStatus['identity']>> {
  const { deps, tenant, name, namespaces } = ctx;
  const key = await ensureSigningKey(deps.core, tenant, namespaces).catch((error: unknown) => {
    throw kubeFailure('SecretError', 'writing the signing key Secret', error);
  });
  await deps
    .apply(publicKeysConfigMap(name, namespaces.platform, key) as KubernetesObject)
    .catch((error: unknown) => {
      throw kubeFailure('SecretError', 'publishing the public keys ConfigMap', error);
    });
  return { signingKeySecret: key.secretName, keyId: key.keyId };
}
