import { sql as dsql, eq } from 'drizzle-orm';
import { integer, pgTable, serial, text } from 'drizzle-orm/pg-core';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { expect } from 'vitest';
import { adminSql, test } from '../testing/index.ts';

const notes = pgTable('notes', {
  id: serial('id').primaryKey(),
  title: text('title').notNull(),
  stars: integer('stars').notNull().default(0),
});

test('a SQL round trip through drizzle and postgres.js', async ({ database }) => {
  const client = postgres(database.url, { max: 2, onnotice: () => {} });
  try {
    const db = drizzle(client);
    await db.execute(
      dsql`create table notes (id serial primary key, title text not null, stars integer not null default 0)`,
    );
    const [inserted] = await db.insert(notes).values({ title: 'first', stars: 3 }).returning();
    expect(inserted).toMatchObject({ title: 'first', stars: 3 });
    await db.update(notes).set({ stars: 5 }).where(eq(notes.title, 'first'));
    const rows = await db.select().from(notes);
    expect(rows).toEqual([{ id: inserted?.id, title: 'first', stars: 5 }]);
  } finally {
    await client.end();
  }
});

test('the server runs as a private cluster that demands passwords over TCP', async ({ database }) => {
  const admin = adminSql();
  try {
    const [settings] = await admin<{ hba: string; fsync: string }[]>`
      select (select string_agg(auth_method, ',') from pg_hba_file_rules where type = 'host') as hba,
             current_setting('fsync') as fsync`;
    expect(settings?.hba.split(',').every((method) => method === 'scram-sha-256')).toBe(true);
    await admin.unsafe(`create role smoke_reader login password 'right-password'`).catch(() => {});
  } finally {
    await admin.end();
  }
  const url = new URL(database.url);
  url.username = 'smoke_reader';
  url.password = 'wrong-password';
  const wrong = postgres(url.toString(), { max: 1, onnotice: () => {} });
  await expect(wrong`select 1`).rejects.toThrow(/password authentication failed/);
  await wrong.end();
});
