import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@tenantry/logger';
import type { TenantDatabases } from '@tenantry/tenant-db';
import type { Sql } from 'postgres';
import { composeMail } from './compose-mail.ts';
import type { DeliveryMetrics } from './delivery-metrics.ts';
import {
  type ClaimedDelivery,
  claimDue,
  reclaimAbandoned,
  recordFailure,
  recordSent,
} from './delivery-store.ts';
import { classifySendError, type Mailer } from './mailer.ts';
import type { BrandingSource } from './tenant-branding.ts';
import type { UnsubscribeTokens } from './unsubscribe-token.ts';

/**
 * Sends the queued deliveries of every tenant this replica serves. Each pass over a tenant claims due
 * rows (`sending`, one attempt more), sends them concurrently through the pooled transport and
 * records each outcome: `sent`; `retrying` with exponential backoff and jitter after a transient
 * failure; `dead` with the reason after a 5xx or the last attempt.
 *
 * Guarantee: at least once. A crash after the relay accepted a mail and before `sent` is recorded
 * leaves the row `sending`; after the lease it is sent again, with the same Message-ID, so the
 * duplicate is recognisable (and dropped by receivers that deduplicate on it). Nothing is lost and
 * nothing is sent twice silently.
 */
export interface DeliveryWorkerSettings {
  maxAttempts: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
  pollMs: number;
  leaseMs: number;
  from: string;
  scheme: 'http' | 'https';
  /** Deliveries claimed per pass and tenant. */
  batchSize?: number;
}

export interface DeliveryWorker {
  start(): void;
  /** Runs a pass for `tenant` soon: called after the consumer queued mail for it. */
  wake(tenant: string): void;
  stop(): Promise<void>;
}

export const DEFAULT_BATCH_SIZE = 50;
/** Between the consumer's wake-up and the pass: lets the consumer's transaction commit. */
const WAKE_DELAY_MS = 20;

/**
 * Equal jitter: half the exponential delay fixed, half random. Replicas and tenants retrying after one
 * outage spread out instead of hitting the relay together, and no retry comes immediately.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function createDeliveryWorker(options: {
  databases: TenantDatabases;
  mailer: Mailer;
  branding: BrandingSource;
  tokens: UnsubscribeTokens;
  metrics: DeliveryMetrics;
  logger: Logger;
  settings: DeliveryWorkerSettings;
}): DeliveryWorker {
  const { databases, mailer, branding, tokens, metrics, logger, settings } = options;
  const batchSize = settings.batchSize ?? DEFAULT_BATCH_SIZE;
  const running = new Map<string, Promise<void>>();
  /** Tenants woken while their pass ran: the pass runs once more. */
  const again = new Set<string>();
  const stopping = new AbortController();
  let loop: Promise<void> | undefined;

  /** Sends one delivery; a failure is recorded here, a success returned for the batch's record. */
  async function deliver(
    tenant: string,
    sql: Sql,
    delivery: ClaimedDelivery,
  ): Promise<{ id: string; response: string } | undefined> {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    let response: string;
    try {
      const mail = await composeMail(delivery, {
        tenant: await branding.of(tenant),
        from: settings.from,
        scheme: settings.scheme,
        tokens,
      });
      ({ response } = await mailer.send(mail));
    } catch (error) {
      const failure = classifySendError(error);
      const exhausted = delivery.attempts >= settings.maxAttempts;
      metrics.failed(delivery.template, failure.permanent ? 'permanent' : 'transient', seconds());
      const where = {
        tenant,
        deliveryId: delivery.id,
        eventId: delivery.eventId,
        attempt: delivery.attempts,
      };
      if (failure.permanent || exhausted) {
        const reason = failure.permanent
          ? `permanent failure: ${failure.reason}`
          : `gave up after ${delivery.attempts} attempts: ${failure.reason}`;
        metrics.dead(delivery.template);
        logger.error({ ...where, reason }, `delivery ${delivery.id} of tenant ${tenant} is dead: ${reason}`);
        await recordFailure(sql, delivery.id, { state: 'dead', reason });
      } else {
        const retryInMs = backoffMs(delivery.attempts, settings.baseBackoffMs, settings.maxBackoffMs);
        metrics.retrying(delivery.template);
        logger.warn(
          { ...where, retryInMs, reason: failure.reason },
          `delivery ${delivery.id} of tenant ${tenant} failed, retrying: ${failure.reason}`,
        );
        await recordFailure(sql, delivery.id, { state: 'retrying', reason: failure.reason, retryInMs });
      }
      return undefined;
    }
    metrics.sent(delivery.template, seconds());
    return { id: delivery.id, response };
  }

  /** When each tenant's abandoned deliveries were last looked for: every quarter lease is enough. */
  const reclaimedAt = new Map<string, number>();

  async function pass(tenant: string): Promise<void> {
    const sql = databases.sql(tenant);
    if (Date.now() - (reclaimedAt.get(tenant) ?? 0) > settings.leaseMs / 4) {
      reclaimedAt.set(tenant, Date.now());
      const reclaimed = await reclaimAbandoned(sql, settings.leaseMs);
      if (reclaimed > 0) logger.warn({ tenant, reclaimed }, `re-sending ${reclaimed} abandoned deliveries`);
    }
    for (;;) {
      const claimed = await claimDue(sql, batchSize);
      const sent = await Promise.all(claimed.map((delivery) => deliver(tenant, sql, delivery)));
      // Should this fail, the rows stay `sending` and are sent again after the lease (see above).
      await recordSent(
        sql,
        sent.filter((m) => m !== undefined),
      );
      if (claimed.length < batchSize || stopping.signal.aborted) return;
    }
  }

  /** One pass at a time per tenant; a wake-up during a pass runs another after it. */
  function run(tenant: string): Promise<void> {
    const current = running.get(tenant);
    if (current) {
      again.add(tenant);
      return current;
    }
    const started = (async () => {
      do {
        again.delete(tenant);
        try {
          await pass(tenant);
        } catch (error) {
          // The tenant's database is unavailable, say: its rows wait for a later pass.
          logger.warn(
            { tenant, err: error },
            `delivering the mail of tenant ${tenant} failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      } while (again.has(tenant) && !stopping.signal.aborted);
    })().finally(() => running.delete(tenant));
    running.set(tenant, started);
    return started;
  }

  return {
    start() {
      loop ??= (async () => {
        while (!stopping.signal.aborted) {
          for (const tenant of databases.tenants()) void run(tenant);
          await sleep(settings.pollMs, undefined, { signal: stopping.signal }).catch(() => {});
        }
      })();
    },
    wake(tenant) {
      if (stopping.signal.aborted) return;
      setTimeout(() => {
        if (!stopping.signal.aborted && databases.has(tenant)) void run(tenant);
      }, WAKE_DELAY_MS).unref();
    },
    async stop() {
      stopping.abort();
      await loop;
      await Promise.all(running.values());
    },
  };
}
