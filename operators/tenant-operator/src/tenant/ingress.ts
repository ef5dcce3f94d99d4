import type { V1Ingress, V1IngressBackend } from '@kubernetes/client-node';
import {
  defaultHost,
  ingressName,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  PLAN_ANNOTATION,
  SUSPENDED_ANNOTATION,
  TENANT_API_VERSION,
  TENANT_LABEL,
  type Tenant,
} from '@tenantry/tenant-api';

/**
 * The tenant's ingress routes: which hosts it owns, and the Ingress that sends them to the gateway.
 * Pure functions: the controller lists tenants and applies the object.
 */
export interface RouteConfig {
  platformNamespace: string;
  baseDomain: string;
  ingressClassName?: string;
  tlsSecretName?: string;
  gateway: { serviceName: string; port: number };
}

/**
 * What a tenant's hosts expose: the API and its documentation. The gateway's own `/health` and
 * `/metrics` stay inside the cluster (kubelet probes, Prometheus), out of reach from the internet.
 */
export const PUBLIC_PATHS = ['/api', '/docs'];

/**
 * Milliseconds since the epoch; a tenant without a timestamp sorts last. The client types it as a
 * Date, but a custom object read through the generic API keeps the JSON string, so accept both.
 */
function createdAt(tenant: Tenant): number {
  const value: Date | string | undefined = tenant.metadata.creationTimestamp;
  const time = value === undefined ? Number.NaN : new Date(value).getTime();
  return Number.isNaN(time) ? Number.POSITIVE_INFINITY : time;
}

function byAgeThenName(a: Tenant, b: Tenant): number {
  const [ta, tb] = [createdAt(a), createdAt(b)];
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/**
 * Which tenant owns each host: the default host `<name>.<baseDomain>` always belongs to its tenant; a
 * domain claimed by several tenants goes to the first claimant (oldest metadata.creationTimestamp,
 * then name) — later claimants get a conflict. Tenants being deleted (metadata.deletionTimestamp
 * set) claim nothing. Domains are compared as written: the CRD admits only lowercase DNS names.
 */
export function resolveHostClaims(tenants: Tenant[], baseDomain: string): Map<string, string> {
  const claimants = tenants.filter((t) => !t.metadata.deletionTimestamp).sort(byAgeThenName);
  const claims = new Map<string, string>();
  // Default hosts first, so no tenant can take another's default host by listing it as a domain,
  // whatever their ages.
  for (const tenant of claimants) {
    claims.set(defaultHost(tenant.metadata.name, baseDomain), tenant.metadata.name);
  }
  for (const tenant of claimants) {
    for (const host of tenant.spec.domains ?? []) {
      if (!claims.has(host)) claims.set(host, tenant.metadata.name);
    }
  }
  return claims;
}

/**
 * The hosts to route to `tenant`: its default host first, then its domains in spec order, without
 * repeats. A domain owned by another tenant is a conflict, not a route. A domain no one holds in
 * `claims` (the claims were computed before this tenant was listed) is routed: no other tenant has it.
 */
export function routedHosts(
  tenant: Tenant,
  claims: Map<string, string>,
  baseDomain: string,
): { hosts: string[]; conflicts: { host: string; owner: string }[] } {
  const name = tenant.metadata.name;
  const hosts = [defaultHost(name, baseDomain)];
  const conflicts: { host: string; owner: string }[] = [];
  for (const host of tenant.spec.domains ?? []) {
    // The CRD keeps domains a set; only the default host may appear twice.
    if (hosts.includes(host)) continue;
    const owner = claims.get(host) ?? name;
    if (owner === name) hosts.push(host);
    else conflicts.push({ host, owner });
  }
  return { hosts, conflicts };
}

/**
 * The tenant's Ingress in the platform namespace: every host to the gateway, which resolves the
 * tenant from the Host header. The Tenant is cluster-scoped and may own this namespaced object, so
 * deleting the Tenant garbage-collects its routes.
 */
export function buildIngress(
  tenant: Tenant,
  hosts: string[],
  config: RouteConfig,
  options: { suspended: boolean },
): V1Ingress {
  const name = tenant.metadata.name;
  const uid = tenant.metadata.uid;
  if (!uid) {
    throw new Error(`while building the Ingress of tenant ${name}: the tenant has no metadata.uid to own it`);
  }
  const backend: V1IngressBackend = {
    service: { name: config.gateway.serviceName, port: { number: config.gateway.port } },
  };
  const paths = PUBLIC_PATHS.map((path) => ({ path, pathType: 'Prefix', backend }));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: ingressName(name),
      namespace: config.platformNamespace,
      labels: { [TENANT_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY },
      annotations: { [SUSPENDED_ANNOTATION]: String(options.suspended), [PLAN_ANNOTATION]: tenant.spec.plan },
      ownerReferences: [
        {
          apiVersion: TENANT_API_VERSION,
          kind: 'Tenant',
          name,
          uid,
          controller: true,
          blockOwnerDeletion: false,
        },
      ],
    },
    spec: {
      ...(config.ingressClassName ? { ingressClassName: config.ingressClassName } : {}),
      rules: hosts.map((host) => ({ host, http: { paths } })),
      ...(config.tlsSecretName ? { tls: [{ hosts, secretName: config.tlsSecretName }] } : {}),
    },
  };
}
