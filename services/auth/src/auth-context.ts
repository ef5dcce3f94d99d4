import type { RequestIdentity, TenantKeys } from '@tenantry/identity';
import type { TenantDatabases } from '@tenantry/tenant-db';
import type { LockoutPolicy } from './lockout.ts';
import type { Passwords } from './passwords.ts';

/** What the auth routes work with; built once by buildAuthService. */
export interface AuthContext {
  databases: TenantDatabases;
  keys: TenantKeys;
  identity: RequestIdentity;
  passwords: Passwords;
  lockout: LockoutPolicy;
  ttl: {
    accessTokenSeconds: number;
    refreshTokenSeconds: number;
    emailVerificationSeconds: number;
    passwordResetSeconds: number;
  };
}

export const AUTH_ERROR_CODES = {
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  SIGNIN_LOCKED: 'SIGNIN_LOCKED',
  REFRESH_TOKEN_INVALID: 'REFRESH_TOKEN_INVALID',
  REFRESH_TOKEN_EXPIRED: 'REFRESH_TOKEN_EXPIRED',
  REFRESH_TOKEN_REUSED: 'REFRESH_TOKEN_REUSED',
  SESSION_REVOKED: 'SESSION_REVOKED',
  VERIFICATION_TOKEN_INVALID: 'VERIFICATION_TOKEN_INVALID',
  RESET_TOKEN_INVALID: 'RESET_TOKEN_INVALID',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  LAST_OWNER: 'LAST_OWNER',
} as const;

export const ACCEPTED_MESSAGE =
  'If the address can be used, an email is on its way; it may take a few minutes to arrive.';
