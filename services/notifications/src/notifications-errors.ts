import { HttpError } from '@tenantry/service-kit';

/** Error codes of the notifications API besides service-kit's and identity's; clients branch on these. */
export const NOTIFICATIONS_ERROR_CODES = {
  CATEGORY_LOCKED: 'CATEGORY_LOCKED',
  DELIVERY_NOT_FOUND: 'DELIVERY_NOT_FOUND',
  DELIVERY_NOT_DEAD: 'DELIVERY_NOT_DEAD',
  UNSUBSCRIBE_TOKEN_INVALID: 'UNSUBSCRIBE_TOKEN_INVALID',
} as const;

export function categoryLocked(category: string): HttpError {
  return new HttpError(
    400,
    NOTIFICATIONS_ERROR_CODES.CATEGORY_LOCKED,
    `${category} emails cannot be turned off: they are how an account is verified and recovered`,
    { field: `/body/${category}` },
  );
}

export function deliveryNotFound(id: string): HttpError {
  return new HttpError(
    404,
    NOTIFICATIONS_ERROR_CODES.DELIVERY_NOT_FOUND,
    `no delivery ${id} in this tenant`,
    {
      field: '/params/id',
    },
  );
}

export function deliveryNotDead(id: string, state: string): HttpError {
  return new HttpError(
    409,
    NOTIFICATIONS_ERROR_CODES.DELIVERY_NOT_DEAD,
    `delivery ${id} is ${state}: only dead deliveries are retried by hand`,
    { field: '/params/id' },
  );
}

export function unsubscribeTokenInvalid(): HttpError {
  return new HttpError(
    400,
    NOTIFICATIONS_ERROR_CODES.UNSUBSCRIBE_TOKEN_INVALID,
    'the unsubscribe link is invalid or expired; change your preferences after signing in',
    { field: '/query/token' },
  );
}
