import type { TenantServiceProgram } from '@tenantry/service-runtime';
import { loadUsersConfig, type UsersConfig } from './config.ts';
import { buildUsersService, SERVICE_NAME } from './users-service.ts';

/** The users service: it consumes auth's events and verifies tokens only. */
export const program: TenantServiceProgram<UsersConfig> = {
  service: SERVICE_NAME,
  loadConfig: loadUsersConfig,
  build: ({ consumers, ...parts }) =>
    buildUsersService({ ...parts, ...(consumers ? { events: consumers } : {}) }),
};
