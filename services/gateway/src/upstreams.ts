import {
  defaultServiceUrl,
  ROUTED_SERVICE_NAMES,
  type RoutedServiceName,
  routedServices,
  servicePrefix,
} from '@tenantry/service-registry';

/**
 * The services behind the gateway, from the registry. Public paths carry the service prefix and
 * services mount their routes under it (BRIEF section 3), so the proxy rewrites nothing: `/api/chat/x`
 * is `/api/chat/x` upstream too.
 */
export const SERVICE_NAMES = ROUTED_SERVICE_NAMES;
export type ServiceName = RoutedServiceName;
export { servicePrefix };

/**
 * Base URL of each service, e.g. `http://auth:3001`; null for a service not deployed: its routes
 * answer 503 naming it without trying, and `/api/health` reports it as `not_deployed` rather than down.
 */
export type Upstreams = Readonly<Record<ServiceName, string | null>>;

export const DEFAULT_UPSTREAMS = Object.fromEntries(
  routedServices.map((service) => [service.name, defaultServiceUrl(service)]),
) as Readonly<Record<ServiceName, string>>;

/** The variable that sets a service's upstream URL: `AUTH_URL` for auth. */
export function upstreamVariable(service: ServiceName): string {
  return `${service.toUpperCase()}_URL`;
}
