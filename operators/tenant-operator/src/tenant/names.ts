/**
 * Every name derived from a tenant's name. The API server already restricts tenant names to DNS
 * labels of 3-40 characters; this module checks again, because these names end up in SQL identifiers
 * and topic names and must never carry anything else (defence in depth against injection).
 */
const TENANT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function assertTenantName(name: string): void {
  if (name.length < 3 || name.length > 40 || !TENANT_NAME.test(name)) {
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

/** The Secret (in the platform namespace) with the app role's credentials; services read this one. */
export function appSecretName(tenant: string): string {
  assertTenantName(tenant);
  return `tenant-${tenant}-db`;
}

/** The Secret with the owner role's credentials; only the operator reads it. */
export function ownerSecretName(tenant: string): string {
  assertTenantName(tenant);
  return `tenant-${tenant}-db-owner`;
}

/** The tenant's token signing key pair (private JWK and public JWKS); only auth reads it, to sign. */
export function signingKeySecretName(tenant: string): string {
  assertTenantName(tenant);
  return `tenant-${tenant}-signing-key`;
}

/**
 * The tenant's public keys (JWKS) in a ConfigMap: what verifiers (the gateway, services) read, so they
 * need no access to Secrets for it.
 */
export function publicKeysConfigMapName(tenant: string): string {
  assertTenantName(tenant);
  return `tenant-${tenant}-jwks`;
}

export const TOPIC_PREFIX = 'tenantry';

/** The tenant's Kafka topics: every event of the tenant flows through `<prefix>.<tenant>.events`. */
export function topicNames(tenant: string): string[] {
  assertTenantName(tenant);
  return [`${TOPIC_PREFIX}.${tenant}.events`];
}

export function ingressName(tenant: string): string {
  assertTenantName(tenant);
  return `tenant-${tenant}`;
}

/** The host every tenant gets, besides its own domains. */
export function defaultHost(tenant: string, baseDomain: string): string {
  assertTenantName(tenant);
  return `${tenant}.${baseDomain}`;
}

/** Label put on everything the operator creates for a tenant. */
export const TENANT_LABEL = 'tenantry.dev/tenant';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'tenantry-operator';
export const FINALIZER = 'tenantry.dev/cleanup';
