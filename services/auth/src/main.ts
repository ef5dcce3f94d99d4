import { runTenantServiceProgram } from '@tenantry/service-runtime';
import { buildAuthService, SERVICE_NAME } from './auth-service.ts';
import { loadAuthConfig } from './config.ts';

/** The auth process: it publishes events (relay) and issues tokens (signing keys). */
await runTenantServiceProgram({
  service: SERVICE_NAME,
  loadConfig: loadAuthConfig,
  runtime: { relay: true, signing: true },
  build: (parts) => buildAuthService(parts),
});
