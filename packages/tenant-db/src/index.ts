export type { Logger } from '@tenantry/tenant-secrets';
export { TenantDatabaseUnavailableError, UnknownTenantError } from './errors.ts';
export {
  DEFAULT_IDLE_TIMEOUT_SECONDS,
  DRAIN_TIMEOUT_SECONDS,
  TenantDatabases,
  type TenantDatabasesOptions,
  type TenantDatabasesStats,
  type TenantPoolStats,
} from './tenant-databases.ts';
