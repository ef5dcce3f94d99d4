import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The platform's services, each declared once. Everything that lists services follows this: the
 * gateway's upstreams and routes, the operator's migration sets, `npm run up`, and the checks of
 * images, charts, the Tiltfile and skaffold.yaml (packages/charts-tests), which fail when a declared
 * service lacks one of them.
 *
 * Conventions that need no declaration: a service lives in `services/<name>` (package
 * `@tenantry/<name>`), its chart in `charts/<name>`, its image is `services/Dockerfile` built with
 * SERVICE=<name>, and a service with tenant tables keeps its drizzle migration set in
 * `services/<name>/migrations/<name>`.
 */
export interface ServiceDeclaration {
  name: string;
  /** The port it listens on in a pod and under `npm run up` (BRIEF section 3). */
  port: number;
  /** Behind the gateway at `/api/<name>/*` (every service but the gateway itself). */
  routed: boolean;
  /** Has tables in every tenant's database: the operator applies its migration set. */
  tenantDatabase: boolean;
  /** Signs tokens with the tenants' private keys (read from the keys namespace). */
  signingKeys: boolean;
  /** Event types it writes to its outbox. */
  publishes: readonly string[];
  /** Event types it handles from the tenants' topics. */
  consumes: readonly string[];
  /**
   * False while the service is announced but not built: the gateway answers 503 naming it, and
   * nothing else expects its folder, chart or image yet.
   */
  built: boolean;
}

export const services = [
  {
    name: 'gateway',
    port: 4000,
    routed: false,
    tenantDatabase: false,
    signingKeys: false,
    publishes: [],
    consumes: [],
    built: true,
  },
  {
    name: 'auth',
    port: 3001,
    routed: true,
    tenantDatabase: true,
    signingKeys: true,
    publishes: [
      'user.signed_up',
      'user.email_verification_requested',
      'user.invitation_requested',
      'user.email_verified',
      'user.password_reset_requested',
      'user.password_reset',
      'user.signed_in',
      'user.role_changed',
    ],
    consumes: [],
    built: true,
  },
  {
    name: 'chat',
    port: 3002,
    routed: true,
    tenantDatabase: true,
    signingKeys: false,
    publishes: [
      'chat.message_completed',
      'chat.conversation_created',
      'chat.conversation_deleted',
      'chat.quota_threshold_reached',
    ],
    // Plan changes reach it as Kubernetes state (the Plan and the tenant's Ingress), not as events.
    consumes: [],
    built: true,
  },
  {
    name: 'billing',
    port: 3003,
    routed: true,
    tenantDatabase: true,
    signingKeys: false,
    publishes: [
      'billing.subscription_changed',
      'billing.invoice_issued',
      'billing.payment_succeeded',
      'billing.payment_failed',
    ],
    consumes: ['chat.message_completed'],
    built: true,
  },
  {
    name: 'notifications',
    port: 3004,
    routed: true,
    tenantDatabase: true,
    signingKeys: false,
    publishes: [],
    consumes: [
      'user.signed_up',
      'user.email_verification_requested',
      'user.invitation_requested',
      'user.password_reset_requested',
      'billing.invoice_issued',
      'billing.payment_failed',
      'chat.quota_threshold_reached',
    ],
    built: true,
  },
  {
    name: 'users',
    port: 3005,
    routed: true,
    tenantDatabase: true,
    signingKeys: false,
    publishes: [],
    consumes: ['user.signed_up', 'user.role_changed'],
    built: true,
  },
  {
    name: 'analytics',
    port: 3007,
    routed: true,
    tenantDatabase: false,
    signingKeys: false,
    publishes: [],
    consumes: ['*'],
    built: true,
  },
] as const satisfies readonly ServiceDeclaration[];

export type ServiceName = (typeof services)[number]['name'];
/** A service behind the gateway. */
export type RoutedServiceName = Extract<(typeof services)[number], { routed: true }>['name'];

type Declared = (typeof services)[number];
/** The event types service `N` declares it publishes: its outbox's type is checked against them. */
export type EventTypePublishedBy<N extends ServiceName> = Extract<Declared, { name: N }>['publishes'][number];
/** The event types service `N` declares it consumes. */
export type EventTypeConsumedBy<N extends ServiceName> = Extract<Declared, { name: N }>['consumes'][number];

export const routedServices = services.filter(
  (service): service is Extract<(typeof services)[number], { routed: true }> => service.routed,
);
export const ROUTED_SERVICE_NAMES: readonly RoutedServiceName[] = routedServices.map((s) => s.name);

export function serviceNamed(name: string): ServiceDeclaration {
  const found = services.find((service) => service.name === name);
  if (!found) throw new Error(`no service "${name}" in the registry (packages/service-registry)`);
  return found;
}

/** `/api/auth` for auth: the path prefix the service owns, at the gateway and upstream alike. */
export function servicePrefix(service: RoutedServiceName): string {
  return `/api/${service}`;
}

/** The in-cluster URL of a service's Service object, e.g. `http://auth:3001`. */
export function defaultServiceUrl(service: ServiceDeclaration): string {
  return `http://${service.name}:${service.port}`;
}

/**
 * Where a service's drizzle migration set is, by convention: `services/<name>/migrations/<name>`
 * (the operator's image keeps the repository layout, so the same path holds there).
 */
export function serviceMigrationsFolder(service: ServiceDeclaration): string {
  return fileURLToPath(
    new URL(`../../../services/${service.name}/migrations/${service.name}`, import.meta.url),
  );
}

/**
 * Workspace packages with tables in every tenant database, by the same convention:
 * `packages/<name>/migrations/<name>` (events: the outbox and processed_events). They are applied
 * before the services' sets.
 */
export const PACKAGES_WITH_TENANT_TABLES = ['events'] as const;

export function packageMigrationsFolder(name: (typeof PACKAGES_WITH_TENANT_TABLES)[number]): string {
  return fileURLToPath(new URL(`../../${name}/migrations/${name}`, import.meta.url));
}

/**
 * The services whose tables the operator migrates into every tenant database: those declaring tenant
 * tables whose migration set exists. A service being written (not built yet) gets its tables in
 * development and tests as soon as its set exists; a built one must have it (the registry test).
 */
export function servicesWithTenantDatabase(): ServiceDeclaration[] {
  return services.filter(
    (service) =>
      service.tenantDatabase && existsSync(join(serviceMigrationsFolder(service), 'meta', '_journal.json')),
  );
}
