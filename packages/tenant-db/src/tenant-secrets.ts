import type { V1Secret } from '@kubernetes/client-node';

/**
 * The contract with the tenant operator (docs/operator.md): per tenant, a Secret `tenant-<name>-db`
 * in the platform namespace, labelled `tenantry.dev/tenant=<name>` and managed by the operator, with
 * the app role's credentials under host, port, database, username and password. Its `url` key is
 * never read: it embeds the password, and nothing here may hold a string that could end up in a log.
 * The owner role's Secret `tenant-<name>-db-owner` carries the same labels; services never use it.
 */
export const TENANT_LABEL = 'tenantry.dev/tenant';
export const MANAGED_BY_SELECTOR = 'app.kubernetes.io/managed-by=tenantry-operator';

const APP_SECRET_NAME = /^tenant-(.+)-db$/;
/** Tenant names are DNS labels of 3-40 characters (BRIEF section 4). */
const TENANT_NAME = /^[a-z0-9]([-a-z0-9]{1,38})[a-z0-9]$/;

export interface TenantCredentials {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
}

/**
 * The tenant whose app credentials a Secret of that name holds, or undefined for any other Secret
 * (the owner's `-db-owner` ones among them). App and owner names cannot collide: one ends in `-db`,
 * the other in `-owner`.
 */
export function tenantOfSecretName(name: string | undefined): string | undefined {
  const tenant = name ? APP_SECRET_NAME.exec(name)?.[1] : undefined;
  return tenant && TENANT_NAME.test(tenant) ? tenant : undefined;
}

/** Reads the credentials of `tenant` from its Secret; errors name the Secret and key, never a value. */
export function credentialsFromSecret(tenant: string, secret: V1Secret): TenantCredentials {
  const name = secret.metadata?.name ?? '(unnamed)';
  const label = secret.metadata?.labels?.[TENANT_LABEL];
  if (label !== tenant) {
    throw new Error(`Secret ${name} is labelled ${TENANT_LABEL}=${label ?? '(none)'}, expected ${tenant}`);
  }
  const value = (key: string): string => {
    const encoded = secret.data?.[key];
    if (!encoded) throw new Error(`Secret ${name} has no key "${key}"`);
    return Buffer.from(encoded, 'base64').toString('utf8');
  };
  const port = Number(value('port'));
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new Error(`Secret ${name}: key "port" is not a TCP port`);
  }
  return {
    host: value('host'),
    port,
    database: value('database'),
    username: value('username'),
    password: value('password'),
  };
}

export function sameCredentials(a: TenantCredentials, b: TenantCredentials): boolean {
  return (
    a.host === b.host &&
    a.port === b.port &&
    a.database === b.database &&
    a.username === b.username &&
    a.password === b.password
  );
}
