import { IDENTITY_ERROR_CODES } from '@tenantry/identity';
import { HttpError } from '@tenantry/service-kit';
import { UnknownTenantError } from '@tenantry/tenant-db';
import { DrizzleQueryError } from 'drizzle-orm';

/** Error codes of the users API besides service-kit's and identity's; clients branch on these. */
export const USERS_ERROR_CODES = {
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  PREFERENCES_LIMIT_EXCEEDED: 'PREFERENCES_LIMIT_EXCEEDED',
} as const;

export function userNotFound(userId: string): HttpError {
  return new HttpError(404, USERS_ERROR_CODES.USER_NOT_FOUND, `no user ${userId} in this tenant`, {
    field: '/params/id',
  });
}

/**
 * The error handler of the users routes, for what the database layer throws; it passes every error on
 * to service-kit's handler by throwing it (Fastify's way of reaching the parent handler):
 * - drizzle wraps each query error in a DrizzleQueryError whose message holds the query's parameters
 *   (emails, preferences): the driver's error is passed on instead, so a
 *   TenantDatabaseUnavailableError still becomes a 503 and no parameter reaches the log;
 * - a tenant whose credentials Secret disappeared between the identity check and the query is a 404,
 *   as if the request had come a moment later.
 */
export function passOnDatabaseError(error: Error): never {
  const cause = error instanceof DrizzleQueryError && error.cause !== undefined ? error.cause : error;
  if (cause instanceof UnknownTenantError) {
    throw new HttpError(404, IDENTITY_ERROR_CODES.TENANT_NOT_FOUND, 'no such tenant');
  }
  throw cause;
}
