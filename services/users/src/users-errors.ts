import { HttpError } from '@tenantry/service-kit';

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
