import { requestIdentity } from '@tenantry/identity';
import type { Logger } from '@tenantry/logger';
import { buildService, type ServiceInstance } from '@tenantry/service-kit';
import { serviceConfig, type TenantRuntime } from '@tenantry/service-runtime';
import { accountRoutes } from './account-routes.ts';
import { type AdminInvitations, startAdminInvitations } from './admin-invitation.ts';
import type { AuthContext } from './auth-context.ts';
import type { AuthConfig } from './config.ts';
import { Passwords } from './passwords.ts';
import { sessionRoutes } from './session-routes.ts';
import { sessionRevoked } from './sessions-store.ts';

export const SERVICE_NAME = 'auth';

export interface AuthServiceOptions {
  runtime: TenantRuntime;
  config: AuthConfig;
  logger?: Logger;
  /** Runs once the app has closed: the program closes the runtime and telemetry here. */
  onClose?: () => Promise<void>;
}

export interface AuthServiceInstance extends ServiceInstance {
  /** The designated admins' invitations (swept on a timer; tests may sweep at once). */
  invitations: AdminInvitations;
}

/** The auth service's Fastify app over a started runtime (the caller owns and closes the runtime). */
export async function buildAuthService(options: AuthServiceOptions): Promise<AuthServiceInstance> {
  const { runtime, config } = options;
  const { databases } = runtime;
  // Auth checks the session of every access token it is shown, so a signed-out, reset or demoted
  // session's token stops working here at once rather than when it expires.
  const identity = requestIdentity({
    keys: runtime.keys,
    serves: (tenant) => databases.has(tenant),
    sessions: {
      live: async (tenant, sid) => !(await sessionRevoked(databases.drizzle(tenant), sid)),
      cacheMs: config.SESSION_CHECK_CACHE_MS,
    },
  });
  const ctx: AuthContext = {
    databases,
    keys: runtime.keys,
    identity,
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
      sessionMaxSeconds: config.SESSION_MAX_SECONDS,
      emailVerificationSeconds: config.EMAIL_VERIFICATION_TTL_SECONDS,
      passwordResetSeconds: config.PASSWORD_RESET_TTL_SECONDS,
    },
  };
  const invitations = startAdminInvitations({
    databases,
    ttlSeconds: config.INVITATION_TTL_SECONDS,
    intervalSeconds: config.ADMIN_INVITATION_SWEEP_SECONDS,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const app = await buildService({
    name: SERVICE_NAME,
    config: serviceConfig(config),
    ...(options.logger ? { logger: options.logger } : {}),
    metrics: runtime.metrics,
    dependencies: runtime.dependencies,
    onClose: async () => {
      await invitations.stop();
      await options.onClose?.();
    },
    routes: async (app) => {
      await app.register(sessionRoutes(ctx));
      await app.register(accountRoutes(ctx));
    },
  }).catch(async (error: unknown) => {
    await invitations.stop();
    throw error;
  });
  return Object.assign(app, { invitations });
}
