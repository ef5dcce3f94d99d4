import type { TenantServiceProgram } from '@tenantry/service-runtime';
import { buildAuthService, SERVICE_NAME } from './auth-service.ts';
import { type AuthConfig, loadAuthConfig } from './config.ts';

/** The auth service: it publishes events (relay) and issues tokens (signing keys). */
export const program: TenantServiceProgram<AuthConfig> = {
  service: SERVICE_NAME,
  loadConfig: loadAuthConfig,
  runtime: { relay: true, signing: true },
  build: (parts) => buildAuthService(parts),
};
