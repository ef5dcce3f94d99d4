import { type StaticDecode, Type } from '@sinclair/typebox';
import { loadConfig } from '@tenantry/config';
import { tenantServiceEnv } from '@tenantry/service-runtime';

/** The auth service's configuration: the only reader of the environment in this program. */
const schema = Type.Object({
  ...tenantServiceEnv(3001),
  /**
   * Where the operator keeps the tenants' private signing keys (its KEYS_NAMESPACE); only auth, the
   * one service with signing keys, is granted it. `<PLATFORM_NAMESPACE>-keys` when unset.
   */
  KEYS_NAMESPACE: Type.Optional(
    Type.String({
      maxLength: 63,
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
      expectation: 'a namespace name (a DNS label)',
    }),
  ),
  /** Access token lifetime; short, since a signed-out or demoted user keeps a token this long. */
  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 3600, default: 900 }),
  /** Idle lifetime of a refresh token: each refresh starts a new one, up to SESSION_MAX_SECONDS. */
  REFRESH_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 3600, maximum: 90 * 86_400, default: 30 * 86_400 }),
  /** Absolute lifetime of a session from sign-in: refreshing never extends it past this. */
  SESSION_MAX_SECONDS: Type.Integer({ minimum: 3600, maximum: 365 * 86_400, default: 90 * 86_400 }),
  /**
   * How long an ended session's access tokens are still accepted by auth itself: 0, every
   * authenticated auth request reads the session (one indexed query).
   */
  SESSION_CHECK_CACHE_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 0 }),
  EMAIL_VERIFICATION_TTL_SECONDS: Type.Integer({ minimum: 600, maximum: 7 * 86_400, default: 86_400 }),
  PASSWORD_RESET_TTL_SECONDS: Type.Integer({ minimum: 300, maximum: 86_400, default: 3_600 }),
  /** The designated admin's invitation (spec.admin.email): a new one is sent only once it expired unused. */
  INVITATION_TTL_SECONDS: Type.Integer({ minimum: 600, maximum: 30 * 86_400, default: 7 * 86_400 }),
  /** How often the served tenants are checked for a designated admin still to invite. */
  ADMIN_INVITATION_SWEEP_SECONDS: Type.Integer({ minimum: 1, maximum: 3_600, default: 30 }),
  /** argon2id cost (OWASP's minimum: 19 MiB, 2 passes, 1 lane). */
  PASSWORD_HASH_MEMORY_KIB: Type.Integer({ minimum: 8_192, maximum: 1_048_576, default: 19_456 }),
  PASSWORD_HASH_ITERATIONS: Type.Integer({ minimum: 1, maximum: 10, default: 2 }),
  /** Failed sign-ins of one account, then of one client address, before it is locked. */
  LOCKOUT_ACCOUNT_FAILURES: Type.Integer({ minimum: 1, maximum: 1_000, default: 5 }),
  LOCKOUT_ADDRESS_FAILURES: Type.Integer({ minimum: 1, maximum: 10_000, default: 20 }),
  /** How long a lock lasts, and the window failures are counted in. */
  LOCKOUT_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 900 }),
});

export type AuthConfig = StaticDecode<typeof schema>;

export function loadAuthConfig(env?: Record<string, string | undefined>): AuthConfig {
  return loadConfig(schema, env);
}
