import { Type } from '@sinclair/typebox';
import { type Env, loadConfig, url } from '@tenantry/config';
import { tenantServiceEnv } from '@tenantry/service-runtime';

/** The billing service's configuration: the only reader of the environment in this program. */
const schema = Type.Object({
  ...tenantServiceEnv(3003),
  /** Stripe's secret key (sk_...); with STRIPE_API_URL unset this is real Stripe. */
  STRIPE_SECRET_KEY: Type.String({ minLength: 1, secret: true }),
  /** Where the Stripe API is, for stripe-mock in development (http://127.0.0.1:12111); unset: Stripe. */
  STRIPE_API_URL: Type.Optional(url()),
  /** The signing secret (whsec_...) of the webhook endpoint; webhooks are refused without it. */
  STRIPE_WEBHOOK_SECRET: Type.String({ minLength: 1, secret: true }),
  /** Days from an invoice's issue to its due date. */
  INVOICE_DUE_DAYS: Type.Integer({ minimum: 0, maximum: 90, default: 14 }),
  /** How often the scheduler looks for periods to close. */
  INVOICE_SCHEDULER_INTERVAL_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 300 }),
  /**
   * Opt-in policy: suspend a tenant (Tenant.spec.suspended) once its subscription is past_due, i.e.
   * every attempt of the payment retry schedule failed. Off by default: suspension blocks its users.
   */
  SUSPEND_PAST_DUE_TENANTS: Type.Boolean({ default: false }),
});

export type BillingConfig = ReturnType<typeof loadBillingConfig>;

/** Throws one ConfigError listing every invalid or missing variable. */
export function loadBillingConfig(env: Env = process.env) {
  return loadConfig(schema, env);
}
