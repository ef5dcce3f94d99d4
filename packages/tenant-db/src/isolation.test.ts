import { adminSql, test } from '@tenantry/devstack/testing';
import postgres from 'postgres';
import { afterAll, expect } from 'vitest';
import {
  adminIn,
  connectAs,
  EVENTUALLY,
  provisionTenant,
  startDatabases,
  type TestTenant,
} from './test-support.ts';

/**
 * Tenant isolation is enforced by PostgreSQL, not by the queries (BRIEF section 5): with tenant A's
 * pool, no query can read tenant B's rows, whatever it says.
 */
const admin = adminSql();
afterAll(() => admin.end());

/** The same table in each tenant's database, created by its owner role as a migration would. */
async function createNotes(tenant: TestTenant, bodies: string[]): Promise<void> {
  const sql = adminIn(tenant.database);
  await sql.begin(async (tx) => {
    await tx`set local role ${tx(tenant.ownerRole)}`;
    await tx`create table notes (id serial primary key, body text not null)`;
    for (const body of bodies) await tx`insert into notes (body) values (${body})`;
  });
}

test('a query without any WHERE clause sees only its own tenant rows', async ({ kube, namespace }) => {
  const databases = await startDatabases({ kc: kube, namespace });
  const a = await provisionTenant(admin, kube, namespace);
  const b = await provisionTenant(admin, kube, namespace);
  await createNotes(a, ['a-1', 'a-2']);
  await createNotes(b, ['b-1']);
  await expect.poll(() => databases.has(a.name) && databases.has(b.name), EVENTUALLY).toBe(true);

  // The "buggy" query: no tenant filter at all.
  const rows = await databases.sql(a.name)<{ body: string }[]>`select body from notes order by body`;
  expect(rows.map((row) => row.body)).toEqual(['a-1', 'a-2']);
  const fromB = await databases.sql(b.name)<{ body: string }[]>`select body from notes`;
  expect(fromB.map((row) => row.body)).toEqual(['b-1']);
});

test("naming tenant B's table from tenant A's pool fails, and so does connecting A's role to B's database", async ({
  kube,
  namespace,
}) => {
  const databases = await startDatabases({ kc: kube, namespace });
  const a = await provisionTenant(admin, kube, namespace);
  const b = await provisionTenant(admin, kube, namespace);
  await createNotes(b, ['b-1']);
  await expect.poll(() => databases.has(a.name), EVENTUALLY).toBe(true);

  const crossReference = await databases
    .sql(a.name)
    .unsafe(`select body from ${b.database}.public.notes`)
    .then(() => undefined)
    .catch((error: unknown) => error);
  expect(crossReference).toBeInstanceOf(postgres.PostgresError);
  expect(crossReference).toMatchObject({
    code: '0A000',
    message: expect.stringContaining('cross-database references are not implemented'),
  });

  // A's own credentials, pointed at B's database: PostgreSQL refuses the session.
  const intruder = connectAs(a.appRole, a.appPassword, b.database);
  const refused = await intruder`select body from notes`.then(() => undefined).catch((e: unknown) => e);
  expect(refused).toMatchObject({
    code: '42501',
    message: expect.stringMatching(new RegExp(`^permission denied for database "?${b.database}"?$`)),
  });
});

test("transactions run on the tenant's connection: committed on success, rolled back on failure", async ({
  kube,
  namespace,
}) => {
  const databases = await startDatabases({ kc: kube, namespace });
  const a = await provisionTenant(admin, kube, namespace);
  await createNotes(a, []);
  await expect.poll(() => databases.has(a.name), EVENTUALLY).toBe(true);

  const id = await databases.withTransaction(a.name, async (tx) => {
    const [row] = await tx<{ id: number }[]>`insert into notes (body) values ('kept') returning id`;
    await tx.savepoint(async (inner) => {
      await inner`insert into notes (body) values ('in a savepoint')`;
    });
    return row?.id;
  });
  expect(id).toBeTypeOf('number');

  const failure = new Error('the handler failed');
  const rolledBack = await databases
    .withTransaction(a.name, async (tx) => {
      await tx`insert into notes (body) values ('rolled back')`;
      throw failure;
    })
    .catch((error: unknown) => error);
  // The callback's own error reaches the caller as it is.
  expect(rolledBack).toBe(failure);

  const rows = await databases.sql(a.name)<{ body: string }[]>`select body from notes order by id`;
  expect(rows.map((row) => row.body)).toEqual(['kept', 'in a savepoint']);
});
