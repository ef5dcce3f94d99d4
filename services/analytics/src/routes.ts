import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import { authenticatedErrors, type RequestIdentity, TenantHeaders } from '@tenantry/identity';
import { errorResponses } from '@tenantry/service-kit';
import { ENDPOINTS, type Endpoint } from './endpoints.ts';
import { INTERVALS, MAX_RANGE_DAYS, resolvePeriod } from './period.ts';
import type { QueryRunner, Row } from './query-runner.ts';

export const API_PREFIX = '/api/analytics';
export const DEFAULT_TOP = 10;
export const MAX_TOP = 100;

const DATE = '^\\d{4}-\\d{2}-\\d{2}$';

export const AnalyticsQuery = Type.Object(
  {
    startDate: Type.Optional(
      Type.String({ pattern: DATE, description: 'First day (YYYY-MM-DD, in tz); default endDate − 29 days' }),
    ),
    endDate: Type.Optional(
      Type.String({ pattern: DATE, description: 'Last day, inclusive; default today in tz' }),
    ),
    interval: Type.Optional(
      Type.Union(
        INTERVALS.map((interval) => Type.Literal(interval)),
        { description: 'Bucket size; weeks start on Monday. Default day.' },
      ),
    ),
    tz: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone; default UTC' }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_TOP,
        default: DEFAULT_TOP,
        description: 'Top N (ranked endpoints)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type AnalyticsQuery = Static<typeof AnalyticsQuery>;

const Meta = Type.Object({
  startDate: Type.String(),
  endDate: Type.String(),
  interval: Type.String(),
  tz: Type.String(),
  rows: Type.Integer({ minimum: 0 }),
  truncated: Type.Boolean({ description: 'More rows matched than the service returns' }),
  rowsRead: Type.Integer({ minimum: 0, description: 'Rows ClickHouse read to answer' }),
  elapsedMs: Type.Number({ minimum: 0, description: 'Time spent answering, queries included' }),
});

function responseOf(endpoint: Endpoint) {
  return Type.Object({ data: Type.Array(endpoint.row), meta: Meta });
}

export interface AnalyticsRoutesOptions {
  identity: RequestIdentity;
  run: QueryRunner;
  database: string;
  maxRows: number;
}

/** 503: a query ran over its time, or ClickHouse is unreachable. */
const unavailable = errorResponses(503);

/**
 * The analytics API: one GET per endpoint of ENDPOINTS. The tenant is the verified caller's (identity:
 * the gateway's header, the token checked with that tenant's key, the admin role at least); no
 * parameter can name another, and every value reaches ClickHouse as a bound parameter.
 */
export const analyticsRoutes: FastifyPluginAsyncTypebox<AnalyticsRoutesOptions> = async (app, options) => {
  const { identity, run, database, maxRows } = options;
  for (const endpoint of ENDPOINTS) {
    app.get(
      `${API_PREFIX}/${endpoint.path}`,
      {
        schema: {
          summary: endpoint.summary,
          description: `${endpoint.description} Owner or admin. At most ${MAX_RANGE_DAYS} days.`,
          headers: TenantHeaders,
          querystring: AnalyticsQuery,
          response: { 200: responseOf(endpoint), ...authenticatedErrors, ...unavailable },
        },
      },
      async (request) => {
        const caller = await identity.caller(request, 'admin');
        const period = resolvePeriod(request.query);
        const started = performance.now();
        let rowsRead = 0;
        const params = {
          tenant: caller.tenant,
          startDate: period.startDate,
          endDate: period.endDate,
          tz: period.tz,
          limit: request.query.limit ?? DEFAULT_TOP,
          rowLimit: maxRows + 1,
        };
        const rows: Row[] = await endpoint.run({
          database,
          tenant: caller.tenant,
          period,
          limit: params.limit,
          maxRows,
          query: async (sql) => {
            const result = await run(sql, params);
            rowsRead += result.rowsRead;
            return result.rows;
          },
        });
        const truncated = rows.length > maxRows;
        const data = truncated ? rows.slice(0, maxRows) : rows;
        return {
          data,
          meta: {
            startDate: period.startDate,
            endDate: period.endDate,
            interval: period.interval,
            tz: period.tz,
            rows: data.length,
            truncated,
            rowsRead,
            elapsedMs: Math.round((performance.now() - started) * 100) / 100,
          },
        };
      },
    );
  }
};
