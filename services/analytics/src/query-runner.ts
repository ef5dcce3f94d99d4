import type { ClickHouseClient } from '@tenantry/clickhouse';
import type { Logger } from '@tenantry/logger';
import { HttpError } from '@tenantry/service-kit';
import { analyticsUnavailable, queryTimeout, unknownTimezone } from './analytics-errors.ts';

export type QueryParams = Record<string, unknown>;
export type Row = Record<string, unknown>;

export interface QueryResult {
  rows: Row[];
  /** Rows the engine read to answer: what the query cost. */
  rowsRead: number;
}

export interface QueryRunnerOptions {
  client: ClickHouseClient;
  timeoutSeconds: number;
  logger: Logger;
}

/** ClickHouse error codes the API answers as the client's or the moment's fault, not its own. */
const TIMEOUT_EXCEEDED = '159';
const CANNOT_LOAD_TIME_ZONE = /Cannot load time zone/;
const TIMEOUT_IN_BODY = /TIMEOUT_EXCEEDED|Code: 159\b/;
const UNREACHABLE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|socket hang up/;

interface JsonResult {
  meta: { name: string; type: string }[];
  data: Row[];
  statistics?: { rows_read?: number };
}

/** 64-bit integers arrive quoted (pinned in @tenantry/clickhouse); the API's counts are JSON numbers. */
const QUOTED_INTEGER = /^(Nullable\()?U?Int(64|128|256)\)?$/;

function numbersUnquoted(result: JsonResult): Row[] {
  const quoted = result.meta
    .filter((column) => QUOTED_INTEGER.test(column.type))
    .map((column) => column.name);
  if (quoted.length === 0) return result.data;
  return result.data.map((row) => {
    const copy = { ...row };
    for (const name of quoted) if (typeof copy[name] === 'string') copy[name] = Number(copy[name]);
    return copy;
  });
}

/** Where a JSON-format answer starts. */
const DOCUMENT_START = /\{\s*"meta":/g;

/**
 * The JSON body, or the timeout it ends with: an exception raised once output has started is appended
 * to the body rather than returned as an error. The embedded engine (chdb 3.4) also leaves the partial
 * output of a query cancelled by a timeout in its session, in front of the next answer; so a body that
 * does not parse is read from its last document. (The workaround belongs in @tenantry/clickhouse.)
 */
function parseBody(text: string): JsonResult {
  try {
    return JSON.parse(text) as JsonResult;
  } catch (error) {
    const last = [...text.matchAll(DOCUMENT_START)].at(-1)?.index;
    if (last !== undefined && last > 0) {
      try {
        return JSON.parse(text.slice(last)) as JsonResult;
      } catch {
        // Not a leftover in front of a whole answer: judged below.
      }
    }
    if (TIMEOUT_IN_BODY.test(text)) {
      throw Object.assign(new Error('timeout after output started'), { code: TIMEOUT_EXCEEDED });
    }
    throw new Error(`ClickHouse answered with a body that is not JSON: ${text.slice(-300)}`, {
      cause: error,
    });
  }
}

/**
 * Runs one SELECT with its values bound as ClickHouse query parameters (`{name:Type}`), never spliced
 * into the text. Every query is capped by `max_execution_time`: one that runs over is cancelled by the
 * engine and answered 503 ANALYTICS_QUERY_TIMEOUT.
 */
export function createQueryRunner(options: QueryRunnerOptions) {
  const { client, timeoutSeconds, logger } = options;
  return async function run(
    query: string,
    params: QueryParams,
    timeout = timeoutSeconds,
  ): Promise<QueryResult> {
    try {
      // A SETTINGS clause rather than clickhouse_settings: the embedded engine turns those into SET
      // statements before the query, and after a timeout its next answer then began with the output of
      // the cancelled one. `timeout` is a number from the config, never request input.
      const result = await client.query({
        query: `${query}\nSETTINGS max_execution_time = ${Number(timeout)}, timeout_overflow_mode = 'throw'`,
        query_params: params,
        format: 'JSON',
      });
      const body = parseBody(await result.text());
      return { rows: numbersUnquoted(body), rowsRead: Number(body.statistics?.rows_read ?? 0) };
    } catch (error) {
      if (error instanceof HttpError) throw error;
      const code = (error as { code?: unknown }).code;
      const message = error instanceof Error ? error.message : String(error);
      if (code === TIMEOUT_EXCEEDED) throw queryTimeout(timeout);
      if (CANNOT_LOAD_TIME_ZONE.test(message) && typeof params.tz === 'string')
        throw unknownTimezone(params.tz);
      if (UNREACHABLE.test(message) || UNREACHABLE.test(String(code))) {
        logger.warn({ err: error }, `ClickHouse unreachable: ${message}`);
        throw analyticsUnavailable();
      }
      throw new Error(`while querying ClickHouse: ${message}`, { cause: error });
    }
  };
}

export type QueryRunner = ReturnType<typeof createQueryRunner>;
