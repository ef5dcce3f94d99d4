import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { MANAGED_BY_SELECTOR } from '@tenantry/tenant-api';
import type { Logger } from './logger.ts';
import { type ResourceHandlers, type ResourceWatch, watchResources } from './resource-watch.ts';

/** Called for the operator's Secrets; see watchResources for the restart and re-list semantics. */
export type SecretHandlers = ResourceHandlers<V1Secret>;
export type SecretWatch = ResourceWatch;

/**
 * Follows the operator's Secrets in the platform namespace. Resolves once the Secrets have been listed
 * and the watch is established (retrying until then).
 */
export function watchTenantSecrets(
  kc: KubeConfig,
  namespace: string,
  handlers: SecretHandlers,
  logger?: Logger,
): Promise<SecretWatch> {
  const core = kc.makeApiClient(CoreV1Api);
  // The owner Secrets match the selector too (labels cannot tell them apart); handlers skip them.
  return watchResources<V1Secret>({
    kc,
    path: `/api/v1/namespaces/${namespace}/secrets`,
    list: () => core.listNamespacedSecret({ namespace, labelSelector: MANAGED_BY_SELECTOR }),
    labelSelector: MANAGED_BY_SELECTOR,
    handlers,
    description: 'tenant Secret',
    logger,
  });
}
