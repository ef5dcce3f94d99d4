import { HttpError } from '@tenantry/service-kit';

/** Error codes of the billing API besides service-kit's and identity's; clients branch on these. */
export const BILLING_ERROR_CODES = {
  UNKNOWN_PLAN: 'UNKNOWN_PLAN',
  PLAN_UNCHANGED: 'PLAN_UNCHANGED',
  PLAN_CHANGE_REFUSED: 'PLAN_CHANGE_REFUSED',
  SUBSCRIPTION_EXISTS: 'SUBSCRIPTION_EXISTS',
  SUBSCRIPTION_NOT_FOUND: 'SUBSCRIPTION_NOT_FOUND',
  SUBSCRIPTION_CANCELED: 'SUBSCRIPTION_CANCELED',
  INVOICE_NOT_FOUND: 'INVOICE_NOT_FOUND',
  INVOICE_NOT_OPEN: 'INVOICE_NOT_OPEN',
  PAYMENT_DECLINED: 'PAYMENT_DECLINED',
  WEBHOOK_SIGNATURE_INVALID: 'WEBHOOK_SIGNATURE_INVALID',
} as const;

export const unknownPlan = (plan: string) =>
  new HttpError(400, BILLING_ERROR_CODES.UNKNOWN_PLAN, `no plan named ${plan} is offered`, {
    field: '/body/plan',
  });

export const subscriptionNotFound = (id: string) =>
  new HttpError(404, BILLING_ERROR_CODES.SUBSCRIPTION_NOT_FOUND, `no subscription ${id} in this tenant`, {
    field: '/params/id',
  });

export const invoiceNotFound = (id: string, field = '/params/id') =>
  new HttpError(404, BILLING_ERROR_CODES.INVOICE_NOT_FOUND, `no invoice ${id} in this tenant`, { field });
