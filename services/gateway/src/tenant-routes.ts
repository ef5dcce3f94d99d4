import { type KubeConfig, NetworkingV1Api, type V1Ingress } from '@kubernetes/client-node';
import {
  isTenantName,
  MANAGED_BY_SELECTOR,
  PLAN_ANNOTATION,
  SUSPENDED_ANNOTATION,
  TENANT_LABEL,
} from '@tenantry/tenant-api';
import { type Logger, type ResourceWatch, watchResources } from '@tenantry/tenant-secrets';

/**
 * Which tenant each host belongs to, followed from the Ingresses the operator writes in the platform
 * namespace (one `tenant-<name>` per tenant, docs/operator.md): their rules' hosts, and the
 * annotations it keeps in step with the Tenant. The Ingress, not the Tenant, is the source because
 * it is what the operator publishes once a tenant's hosts are settled (conflicting domains left out).
 */

export interface TenantRoute {
  tenant: string;
  suspended: boolean;
  /** The plan's name, for the rate limit; undefined when the Ingress does not say. */
  plan: string | undefined;
}

interface IngressRoutes {
  route: TenantRoute;
  hosts: string[];
  createdAt: number;
}

/**
 * `Acme.Example:4000` → `acme.example`: hosts are case-insensitive (RFC 9110), the port says nothing
 * about the tenant, and a trailing dot names the same host.
 */
export function normalizeHost(header: string | undefined): string | undefined {
  let host = header?.trim().toLowerCase();
  if (!host) return undefined;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end === -1 ? host : host.slice(0, end + 1);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host === '' ? undefined : host;
}

/** What one operator Ingress routes, or undefined when it is not a tenant's. */
export function routesOfIngress(ingress: V1Ingress): IngressRoutes | undefined {
  const tenant = ingress.metadata?.labels?.[TENANT_LABEL];
  if (!tenant || !isTenantName(tenant)) return undefined;
  const annotations = ingress.metadata?.annotations ?? {};
  const hosts = (ingress.spec?.rules ?? [])
    .map((rule) => normalizeHost(rule.host))
    .filter((host): host is string => host !== undefined);
  // The client types it as a Date; objects from the watch keep the JSON string.
  const created: Date | string | undefined = ingress.metadata?.creationTimestamp;
  const createdAt = created === undefined ? Number.NaN : new Date(created).getTime();
  return {
    route: {
      tenant,
      suspended: annotations[SUSPENDED_ANNOTATION] === 'true',
      plan: annotations[PLAN_ANNOTATION] || undefined,
    },
    hosts,
    createdAt: Number.isNaN(createdAt) ? Number.POSITIVE_INFINITY : createdAt,
  };
}

export class TenantRoutes {
  readonly #byIngress = new Map<string, IngressRoutes>();
  /** Rebuilt on the first lookup after a change: the initial list alone brings one event per tenant. */
  #byHost: Map<string, TenantRoute> | undefined;
  #watch: ResourceWatch | undefined;

  /** Routes given directly (unit tests); start() follows the operator's Ingresses instead. */
  static fromIngresses(ingresses: V1Ingress[]): TenantRoutes {
    const routes = new TenantRoutes();
    for (const ingress of ingresses) routes.#upsert(ingress);
    return routes;
  }

  /** Resolves once the Ingresses are listed and watched (retrying, and logging, until then). */
  static async start(options: { kc: KubeConfig; namespace: string; logger?: Logger }): Promise<TenantRoutes> {
    const { kc, namespace } = options;
    const networking = kc.makeApiClient(NetworkingV1Api);
    const routes = new TenantRoutes();
    routes.#watch = await watchResources<V1Ingress>({
      kc,
      path: `/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses`,
      list: () => networking.listNamespacedIngress({ namespace, labelSelector: MANAGED_BY_SELECTOR }),
      labelSelector: MANAGED_BY_SELECTOR,
      handlers: {
        upsert: (ingress) => routes.#upsert(ingress),
        deleted: (ingress) => routes.#delete(ingress),
      },
      description: 'tenant Ingress',
      logger: options.logger,
    });
    return routes;
  }

  /** The tenant served at the request's Host header, or undefined. */
  lookup(hostHeader: string | undefined): TenantRoute | undefined {
    const host = normalizeHost(hostHeader);
    if (host === undefined) return undefined;
    this.#byHost ??= this.#index();
    return this.#byHost.get(host);
  }

  async close(): Promise<void> {
    await this.#watch?.stop();
  }

  #upsert(ingress: V1Ingress): void {
    const name = ingress.metadata?.name;
    if (!name) return;
    const routes = routesOfIngress(ingress);
    if (routes) this.#byIngress.set(name, routes);
    else this.#byIngress.delete(name);
    this.#byHost = undefined;
  }

  #delete(ingress: V1Ingress): void {
    const name = ingress.metadata?.name;
    if (name && this.#byIngress.delete(name)) this.#byHost = undefined;
  }

  /**
   * The operator never routes one host to two tenants, but its Ingress updates are not atomic across
   * tenants: while a domain moves, the older Ingress keeps it (the operator gives a domain to its
   * oldest claimant too).
   */
  #index(): Map<string, TenantRoute> {
    const byHost = new Map<string, TenantRoute>();
    const oldestFirst = [...this.#byIngress.values()].sort((a, b) =>
      a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0,
    );
    for (const { route, hosts } of oldestFirst) {
      for (const host of hosts) if (!byHost.has(host)) byHost.set(host, route);
    }
    return byHost;
  }
}
