import type { ClickHouseClient } from '@tenantry/clickhouse';
import type { EventRow, RejectedRow } from './event-rows.ts';

export interface StoredBatch {
  inserted: number;
  /** Events of the batch already stored (a redelivery) or repeated within it. */
  duplicates: number;
  rejected: number;
}

/**
 * Writes a batch exactly once per event id: ids already in `events` are left out before the insert,
 * because the materialized views count every inserted row, so a redelivered event must never reach
 * them. The lookup is bounded by the batch's tenants and time span (the sorting key) and the id bloom
 * filter. One writer per partition (the consumer group's assignment) makes check-then-insert safe;
 * the ReplacingMergeTree collapses the raw rows of any race during a rebalance.
 * (The ids are bound as Array(String): chdb's binder types an Array(UUID) parameter as strings, so
 * `id IN {ids:Array(UUID)}` silently matched nothing there.)
 */
export function createEventStore(client: ClickHouseClient, database: string) {
  async function storedIds(rows: EventRow[]): Promise<Set<string>> {
    if (rows.length === 0) return new Set();
    let min = rows[0]?.occurred_at ?? '';
    let max = min;
    for (const row of rows) {
      if (row.occurred_at < min) min = row.occurred_at;
      if (row.occurred_at > max) max = row.occurred_at;
    }
    const result = await client.query({
      query: `SELECT DISTINCT toString(id) AS id FROM ${database}.events
              WHERE tenant IN {tenants:Array(String)}
                AND occurred_at BETWEEN {min:DateTime64(3, 'UTC')} AND {max:DateTime64(3, 'UTC')}
                AND id IN (SELECT toUUID(arrayJoin({ids:Array(String)})))`,
      query_params: {
        tenants: [...new Set(rows.map((row) => row.tenant))],
        min,
        max,
        ids: rows.map((row) => row.id),
      },
      format: 'JSONEachRow',
    });
    return new Set((await result.json<{ id: string }>()).map((row) => row.id));
  }

  return {
    async store(events: EventRow[], rejected: RejectedRow[]): Promise<StoredBatch> {
      const stored = await storedIds(events);
      const fresh: EventRow[] = [];
      const seen = new Set<string>();
      for (const row of events) {
        if (stored.has(row.id) || seen.has(row.id)) continue;
        seen.add(row.id);
        fresh.push(row);
      }
      if (fresh.length > 0) {
        await client.insert({ table: `${database}.events`, format: 'JSONEachRow', values: fresh });
      }
      if (rejected.length > 0) {
        await client.insert({
          table: `${database}.rejected_events`,
          format: 'JSONEachRow',
          values: rejected,
        });
      }
      return { inserted: fresh.length, duplicates: events.length - fresh.length, rejected: rejected.length };
    },
  };
}

export type EventStore = ReturnType<typeof createEventStore>;
