import { and, desc, eq, sql } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { CATEGORIES, type Category, LOCKED_CATEGORIES } from './categories.ts';
import { type DeliveryRow, type DeliveryState, deliveries, preferences } from './schema.ts';

/**
 * The API's queries. Each runs on the database it is given, which is always one tenant's (opened with
 * that tenant's credentials), so none filters by tenant: there is nothing else in reach.
 */

/** Every category for `email`: stored choices over the default (on); locked ones always on. */
export async function readPreferences(
  db: PostgresJsDatabase,
  email: string,
): Promise<Record<Category, boolean>> {
  const rows = await db.select().from(preferences).where(eq(preferences.email, email));
  const stored = new Map(rows.map((row) => [row.category, row.enabled]));
  return Object.fromEntries(
    CATEGORIES.map((category) => [
      category,
      LOCKED_CATEGORIES.has(category) || (stored.get(category) ?? true),
    ]),
  ) as Record<Category, boolean>;
}

export async function writePreferences(
  db: PostgresJsDatabase,
  email: string,
  changes: Partial<Record<Category, boolean>>,
): Promise<void> {
  const values = Object.entries(changes)
    .filter(([category]) => !LOCKED_CATEGORIES.has(category as Category))
    .map(([category, enabled]) => ({ email, category, enabled: enabled === true }));
  if (values.length === 0) return;
  await db
    .insert(preferences)
    .values(values)
    .onConflictDoUpdate({
      target: [preferences.email, preferences.category],
      set: { enabled: sql`excluded.enabled`, updatedAt: sql`now()` },
    });
}

export async function listDeliveries(
  db: PostgresJsDatabase,
  filter: { status?: DeliveryState; recipient?: string; limit: number },
): Promise<DeliveryRow[]> {
  return db
    .select()
    .from(deliveries)
    .where(
      and(
        filter.status ? eq(deliveries.state, filter.status) : undefined,
        filter.recipient ? eq(deliveries.recipient, filter.recipient) : undefined,
      ),
    )
    .orderBy(desc(deliveries.createdAt), desc(deliveries.id))
    .limit(filter.limit);
}

export async function findDelivery(db: PostgresJsDatabase, id: string): Promise<DeliveryRow | undefined> {
  const [row] = await db.select().from(deliveries).where(eq(deliveries.id, id));
  return row;
}

/**
 * Puts a dead delivery back in the queue with a fresh set of attempts; undefined when it is not dead
 * (anymore). It keeps its Message-ID: a replay is the same mail.
 */
export async function requeueDead(db: PostgresJsDatabase, id: string): Promise<DeliveryRow | undefined> {
  const [row] = await db
    .update(deliveries)
    .set({ state: 'queued', attempts: 0, nextAttemptAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(deliveries.id, id), eq(deliveries.state, 'dead')))
    .returning();
  return row;
}
