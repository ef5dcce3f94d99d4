import type { RequestIdentity, TenantKeys } from '@tenantry/identity';
import { HttpError } from '@tenantry/service-kit';
import type { TenantDatabases } from '@tenantry/tenant-db';
import type { LockoutPolicy } from './lockout-store.ts';
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
    sessionMaxSeconds: number;
    emailVerificationSeconds: number;
    passwordResetSeconds: number;
  };
}

export const AUTH_ERROR_CODES = {
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  SIGNIN_LOCKED: 'SIGNIN_LOCKED',
  EMAIL_NOT_VERIFIED: 'EMAIL_NOT_VERIFIED',
  REFRESH_TOKEN_INVALID: 'REFRESH_TOKEN_INVALID',
  REFRESH_TOKEN_EXPIRED: 'REFRESH_TOKEN_EXPIRED',
  REFRESH_TOKEN_REUSED: 'REFRESH_TOKEN_REUSED',
  SESSION_REVOKED: 'SESSION_REVOKED',
  VERIFICATION_TOKEN_INVALID: 'VERIFICATION_TOKEN_INVALID',
  VERIFICATION_PASSWORD_MISMATCH: 'VERIFICATION_PASSWORD_MISMATCH',
  INVITATION_TOKEN_INVALID: 'INVITATION_TOKEN_INVALID',
  RESET_TOKEN_INVALID: 'RESET_TOKEN_INVALID',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  LAST_OWNER: 'LAST_OWNER',
} as const;

export const ACCEPTED_MESSAGE =
  'If the address can be used, an email is on its way; it may take a few minutes to arrive.';

/** 429 while a lockout key is locked (sign-in, and password checks at verification). */
export function locked(retryAfterSeconds: number): HttpError {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return new HttpError(
    429,
    AUTH_ERROR_CODES.SIGNIN_LOCKED,
    `too many failed sign-ins; retry in ${seconds} s`,
    {
      headers: { 'retry-after': String(seconds) },
    },
  );
}
