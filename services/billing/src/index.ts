export { BILLING_ERROR_CODES } from './billing-errors.ts';
export { invoiceLines, periodOf } from './billing-period.ts';
export {
  type BillingService,
  type BillingServiceOptions,
  buildBillingService,
  CONSUMER_GROUP,
  SERVICE_NAME,
} from './billing-service.ts';
export { type BillingConfig, loadBillingConfig } from './config.ts';
export { closeDuePeriods, type InvoicingDeps } from './invoicing.ts';
export { METERED_EVENT_TYPES, meterChatUsage } from './metering.ts';
export type { PaymentProvider } from './payment-provider.ts';
export { type PlanCatalog, type PricedPlan, planCatalog } from './plan-catalog.ts';
export { program } from './program.ts';
export { stripeProvider } from './stripe-provider.ts';
