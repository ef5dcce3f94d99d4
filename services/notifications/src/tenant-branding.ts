import { CustomObjectsApi, type KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';
import { ingressName, TENANT_GROUP, TENANT_PLURAL, TENANT_VERSION, type Tenant } from '@tenantry/tenant-api';
import type { TenantBranding } from './templates.ts';

/**
 * Each tenant's branding for its mail: the display name from its Tenant resource and the host its
 * links point at, from the operator's Ingress (what the gateway routes, conflicting domains left
 * out): its first own domain when it has one, else its default host. Read on demand and kept for `ttlMs`: mail is not
 * latency-critical, and a pooled service would otherwise watch every tenant for a few mails.
 * RBAC: get tenants, get ingresses in the platform namespace (charts/notifications/files/rbac.yaml).
 */
export interface BrandingSource {
  of(tenant: string): Promise<TenantBranding>;
}

export const DEFAULT_BRANDING_TTL_MS = 60_000;

export function tenantBranding(options: {
  kc: KubeConfig;
  namespace: string;
  ttlMs?: number;
}): BrandingSource {
  const { kc, namespace, ttlMs = DEFAULT_BRANDING_TTL_MS } = options;
  const objects = kc.makeApiClient(CustomObjectsApi);
  const networking = kc.makeApiClient(NetworkingV1Api);
  const cache = new Map<string, { branding: TenantBranding; until: number }>();

  async function read(name: string): Promise<TenantBranding> {
    const [tenant, ingress] = await Promise.all([
      objects.getClusterCustomObject({
        group: TENANT_GROUP,
        version: TENANT_VERSION,
        plural: TENANT_PLURAL,
        name,
      }) as Promise<Tenant>,
      networking.readNamespacedIngress({ name: ingressName(name), namespace }),
    ]);
    const hosts = (ingress.spec?.rules ?? []).map((rule) => rule.host).filter((h): h is string => !!h);
    // The operator lists the default host first, then the tenant's domains in spec order.
    const host = hosts[1] ?? hosts[0];
    if (!host) throw new Error(`the Ingress ${namespace}/${ingressName(name)} of tenant ${name} has no host`);
    return { name, displayName: tenant.spec.displayName?.trim() || name, host };
  }

  return {
    async of(name) {
      const cached = cache.get(name);
      if (cached && cached.until > Date.now()) return cached.branding;
      try {
        const branding = await read(name);
        cache.set(name, { branding, until: Date.now() + ttlMs });
        return branding;
      } catch (error) {
        throw new Error(
          `while reading the branding of tenant ${name}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
    },
  };
}
