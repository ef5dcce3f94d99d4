export type { Logger } from './logger.ts';
export {
  type ResourceHandlers,
  type ResourceWatch,
  type ResourceWatchOptions,
  watchResources,
} from './resource-watch.ts';
export { type SecretHandlers, type SecretWatch, watchTenantSecrets } from './secret-watch.ts';
export {
  credentialsFromSecret,
  defaultKeysNamespace,
  isTenantName,
  type JsonWebKeyWithId,
  MANAGED_BY_SELECTOR,
  publicKeysFromConfigMap,
  sameCredentials,
  signingKeyFromSecret,
  TENANT_LABEL,
  type TenantCredentials,
  type TenantPublicKeys,
  type TenantSigningKey,
  tenantOfPublicKeysConfigMapName,
  tenantOfSecretName,
  tenantOfSigningKeySecretName,
} from './tenant-secrets.ts';
