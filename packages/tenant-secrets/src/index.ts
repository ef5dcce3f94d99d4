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
  type JsonWebKeyWithId,
  publicKeysFromConfigMap,
  sameCredentials,
  signingKeyFromSecret,
  type TenantCredentials,
  type TenantPublicKeys,
  type TenantSigningKey,
} from './tenant-secrets.ts';
