/**
 * The services behind the gateway. Public paths carry the service prefix and services mount their
 * routes under it (BRIEF section 3), so the proxy rewrites nothing: `/api/chat/x` is `/api/chat/x`
 * upstream too.
 */
export const SERVICE_NAMES = ['auth', 'users', 'chat', 'billing', 'notifications', 'analytics'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/**
 * Base URL of each service, e.g. `http://auth:3001`; null for a service not deployed: its routes
 * answer 503 naming it without trying, and `/api/health` reports it as `not_deployed` rather than down.
 */
export type Upstreams = Readonly<Record<ServiceName, string | null>>;

export const DEFAULT_UPSTREAMS: Readonly<Record<ServiceName, string>> = {
  auth: 'http://auth:3001',
  users: 'http://users:3005',
  chat: 'http://chat:3002',
  billing: 'http://billing:3003',
  notifications: 'http://notifications:3004',
  analytics: 'http://analytics:3007',
};

/** `/api/auth` for auth: the path prefix the service owns, at the gateway and upstream alike. */
export function servicePrefix(service: ServiceName): string {
  return `/api/${service}`;
}
