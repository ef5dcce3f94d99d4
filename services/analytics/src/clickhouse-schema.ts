import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@tenantry/clickhouse';
import type { Logger } from '@tenantry/logger';

/** Versioned schema files: `NNNN_<name>.sql`, applied in order, each once per database. */
const SCHEMA_DIR = fileURLToPath(new URL('./clickhouse/', import.meta.url));
const FILE_NAME = /^(\d{4})_[a-z0-9_]+\.sql$/;

export interface SchemaFile {
  version: number;
  name: string;
  statements: string[];
}

/**
 * The statements of one file with `{{database}}` filled in. Split on `;` at the end of a line because the
 * HTTP interface takes one statement per request; every statement is `IF NOT EXISTS`, so a file cut
 * short by a crash is simply applied again.
 */
export function schemaStatements(sql: string, database: string): string[] {
  return sql
    .replaceAll('{{database}}', database)
    .split(/;\s*$/m)
    .map((statement) =>
      statement
        .split('\n')
        .filter((line) => !line.trimStart().startsWith('--'))
        .join('\n')
        .trim(),
    )
    .filter((statement) => statement !== '');
}

export async function readSchemaFiles(database: string, dir = SCHEMA_DIR): Promise<SchemaFile[]> {
  const names = (await readdir(dir)).filter((name) => FILE_NAME.test(name)).sort();
  return Promise.all(
    names.map(async (name) => ({
      version: Number(FILE_NAME.exec(name)?.[1]),
      name,
      statements: schemaStatements(await readFile(`${dir}${name}`, 'utf8'), database),
    })),
  );
}

/**
 * Creates the database and applies the schema files it has not recorded yet, in order, recording each
 * in `schema_versions`. Safe to run by every replica at every start: the statements are idempotent, so
 * two replicas starting together at worst both apply a file and both record it.
 */
export async function applyClickHouseSchema(
  client: ClickHouseClient,
  database: string,
  logger: Logger,
): Promise<number[]> {
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${database}.schema_versions
            (version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
            ENGINE = ReplacingMergeTree ORDER BY version`,
  });
  const result = await client.query({
    query: `SELECT DISTINCT version FROM ${database}.schema_versions`,
    format: 'JSONEachRow',
  });
  const done = new Set((await result.json<{ version: number }>()).map((row) => Number(row.version)));
  const applied: number[] = [];
  for (const file of await readSchemaFiles(database)) {
    if (done.has(file.version)) continue;
    for (const statement of file.statements) {
      try {
        await client.command({ query: statement });
      } catch (error) {
        throw new Error(
          `while applying ClickHouse schema file ${file.name} to ${database}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
    }
    await client.insert({
      table: `${database}.schema_versions`,
      format: 'JSONEachRow',
      values: [{ version: file.version, name: file.name }],
    });
    logger.info({ database, file: file.name }, `applied ClickHouse schema ${file.name}`);
    applied.push(file.version);
  }
  return applied;
}
