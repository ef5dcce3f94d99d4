import type { TenantDatabases } from '@tenantry/tenant-db';
import type { ProviderEvent } from './payment-provider.ts';
import { applyPaymentOutcome, type PaymentDeps, withPaymentTransaction } from './payments.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Applies a verified provider event to the tenant's payments, once: the event id is recorded in
 * webhook_events in the transaction that applies it, so a replay (the provider retries until it gets
 * a 2xx) is acknowledged and changes nothing. Returns whether it changed anything.
 */
export async function applyWebhookEvent(
  deps: PaymentDeps & { databases: TenantDatabases },
  tenant: string,
  event: ProviderEvent,
): Promise<boolean> {
  if (event.kind === 'ignored') return false;
  // Our metadata names the tenant; an event about another tenant's payment is not this tenant's to apply.
  if (event.tenant !== tenant || !event.paymentId || !UUID.test(event.paymentId)) {
    deps.logger.warn(
      { tenant, eventId: event.id, eventTenant: event.tenant, paymentId: event.paymentId },
      `ignored webhook event ${event.id}: it is not about a payment of tenant ${tenant}`,
    );
    return false;
  }
  const paymentId = event.paymentId;
  return withPaymentTransaction(deps, tenant, async (tx) => {
    const recorded = await tx`
      insert into webhook_events (event_id, type) values (${event.id}, ${event.providerType})
      on conflict do nothing returning event_id
    `;
    if (recorded.length === 0) return false;
    const [known] = await tx`select id from payments where id = ${paymentId}`;
    if (!known) {
      deps.logger.warn(
        { tenant, eventId: event.id, paymentId },
        `webhook event ${event.id} names no payment of ours`,
      );
      return false;
    }
    await applyPaymentOutcome(deps, tenant, tx, paymentId, {
      providerPaymentId: event.providerPaymentId ?? null,
      status: event.kind === 'payment_succeeded' ? 'succeeded' : 'failed',
      failureReason: event.failureReason,
    });
    return true;
  });
}
