import { runTenantServiceProgram } from '@tenantry/service-runtime';
import { loadUsersConfig } from './config.ts';
import { buildUsersService, SERVICE_NAME } from './users-service.ts';

/** The users service as a process: it consumes auth's events and verifies tokens only. */
await runTenantServiceProgram({
  service: SERVICE_NAME,
  loadConfig: () => loadUsersConfig(),
  build: (parts) => buildUsersService(parts),
});
