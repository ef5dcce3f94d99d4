import type { Logger } from '@tenantry/logger';
import { buildService, type ServiceInstance } from '@tenantry/service-kit';
import { serviceConfig, type TenantRuntime } from '@tenantry/service-runtime';
import { accountRoutes } from './account-routes.ts';
import type { AuthContext } from './auth-context.ts';
import type { AuthConfig } from './config.ts';
import { Passwords } from './passwords.ts';
import { sessionRoutes } from './session-routes.ts';

export const SERVICE_NAME = 'auth';

export interface AuthServiceOptions {
  runtime: TenantRuntime;
  config: AuthConfig;
  logger?: Logger;
  /** Runs once the app has closed: the program closes the runtime and telemetry here. */
  onClose?: () => Promise<void>;
}

/** The auth service's Fastify app over a started runtime (the caller owns and closes the runtime). */
export async function buildAuthService(options: AuthServiceOptions): Promise<ServiceInstance> {
  const { runtime, config } = options;
  const ctx: AuthContext = {
    databases: runtime.databases,
    keys: runtime.keys,
    identity: runtime.identity,
    passwords: new Passwords({
      memoryKiB: config.PASSWORD_HASH_MEMORY_KIB,
      iterations: config.PASSWORD_HASH_ITERATIONS,
    }),
    lockout: {
      accountFailures: config.LOCKOUT_ACCOUNT_FAILURES,
      addressFailures: config.LOCKOUT_ADDRESS_FAILURES,
      lockSeconds: config.LOCKOUT_SECONDS,
    },
    ttl: {
      accessTokenSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
      emailVerificationSeconds: config.EMAIL_VERIFICATION_TTL_SECONDS,
      passwordResetSeconds: config.PASSWORD_RESET_TTL_SECONDS,
    },
  };
  return buildService({
    name: SERVICE_NAME,
    config: serviceConfig(config),
    ...(options.logger ? { logger: options.logger } : {}),
    metrics: runtime.metrics,
    dependencies: runtime.dependencies,
    ...(options.onClose ? { onClose: options.onClose } : {}),
    routes: async (app) => {
      await app.register(sessionRoutes(ctx));
      await app.register(accountRoutes(ctx));
    },
  });
}
