/**
 * Every name derived from a tenant's name, and the parsers that read a tenant back out of one. The
 * operator writes with these and everything else reads with them, so no name exists twice.
 *
 * The API server already restricts tenant names to DNS labels of 3-40 characters; this module checks
 * again, because these names end up in SQL identifiers and topic names and must never carry anything
 * else (defence in depth against injection).
 */
const TENANT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isTenantName(name: string): boolean {
  return name.length >= 3 && name.length <= 40 && TENANT_NAME.test(name);
}

export function assertTenantName(name: string): void {
  if (!isTenantName(name)) {
    throw new Error(`invalid tenant name "${name}": must be a DNS label of 3-40 characters`);
  }
}

function sqlSafe(name: string): string {
  assertTenantName(name);
  return name.replaceAll('-', '_');
}

/** `tenant_<name>`, with hyphens as underscores: a valid unquoted PostgreSQL identifier. */
export function databaseName(tenant: string): string {
  return `tenant_${sqlSafe(tenant)}`;
}

/** Owns the database and its schema; migrations run as this role. */
export function ownerRoleName(tenant: string): string {
  return `tenant_${sqlSafe(tenant)}_owner`;
}

/** What services connect as: data access (DML) only, inside the tenant's database. */
export function appRoleName(tenant: string): string {
  return `tenant_${sqlSafe(tenant)}_app`;
}

/**
 * A name `tenant-<name><suffix>` for a Kubernetes object of the tenant, with its parser: the tenant
 * whose object a name is, or undefined for any other name.
 */
function objectName(suffix: string) {
  const pattern = new RegExp(`^tenant-(.+)${suffix}$`);
  return {
    of(tenant: string): string {
      assertTenantName(tenant);
      return `tenant-${tenant}${suffix}`;
    },
    tenantOf(name: string | undefined): string | undefined {
      const tenant = name ? pattern.exec(name)?.[1] : undefined;
      return tenant && isTenantName(tenant) ? tenant : undefined;
    },
  };
}

// App and owner names cannot collide: one ends in `-db`, the other in `-owner`.
const appSecret = objectName('-db');
const ownerSecret = objectName('-db-owner');
const signingKeySecret = objectName('-signing-key');
const publicKeysConfigMap = objectName('-jwks');

/** The Secret (platform namespace) with the app role's credentials; services read this one. */
export const appSecretName = appSecret.of;
export const tenantOfSecretName = appSecret.tenantOf;

/** The Secret (keys namespace) with the owner role's credentials; only the operator reads it. */
export const ownerSecretName = ownerSecret.of;

/** The tenant's token signing key pair (keys namespace): private JWK and public JWKS; auth signs with it. */
export const signingKeySecretName = signingKeySecret.of;
export const tenantOfSigningKeySecretName = signingKeySecret.tenantOf;

/**
 * The tenant's public keys (JWKS) in a ConfigMap (platform namespace): what verifiers (the gateway,
 * services) read, so they need no access to Secrets for it.
 */
export const publicKeysConfigMapName = publicKeysConfigMap.of;
export const tenantOfPublicKeysConfigMapName = publicKeysConfigMap.tenantOf;

export function ingressName(tenant: string): string {
  assertTenantName(tenant);
  return `tenant-${tenant}`;
}

/** The host every tenant gets, besides its own domains. */
export function defaultHost(tenant: string, baseDomain: string): string {
  assertTenantName(tenant);
  return `${tenant}.${baseDomain}`;
}

export const TOPIC_PREFIX = 'tenantry';
const EVENTS_TOPIC = /^tenantry\.([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.events$/;

/** Every tenant's events topic (a consumer's subscription pattern). */
export const TENANT_TOPICS: RegExp = /^tenantry\.[a-z0-9-]+\.events$/;

/** `tenantry.<tenant>.events`: every event of the tenant flows through this topic. */
export function eventsTopic(tenant: string): string {
  assertTenantName(tenant);
  return `${TOPIC_PREFIX}.${tenant}.events`;
}

/** The tenant's Kafka topics, as the operator creates them. */
export function topicNames(tenant: string): string[] {
  return [eventsTopic(tenant)];
}

/** The tenant whose events topic `topic` is, or undefined when it is not a tenant events topic. */
export function tenantOfTopic(topic: string): string | undefined {
  const tenant = EVENTS_TOPIC.exec(topic)?.[1];
  return tenant && isTenantName(tenant) ? tenant : undefined;
}

/**
 * The namespace of the private Secrets (signing keys, owner credentials) unless configured otherwise.
 * It must differ from the platform namespace: services are granted Secrets there, and RBAC cannot
 * narrow a list or watch by name.
 */
export function defaultKeysNamespace(platformNamespace: string): string {
  return `${platformNamespace}-keys`;
}

/** Label put on everything the operator creates for a tenant. */
export const TENANT_LABEL = 'tenantry.dev/tenant';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'tenantry-operator';
/** Selects what the operator manages, for the services' watches. */
export const MANAGED_BY_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
export const FINALIZER = 'tenantry.dev/cleanup';

/**
 * Annotations on a tenant's Ingress that the gateway follows: the Ingress, not the Tenant, is its
 * source, so the gateway needs no access to Tenants.
 */
export const SUSPENDED_ANNOTATION = 'tenantry.dev/suspended';
export const PLAN_ANNOTATION = 'tenantry.dev/plan';
