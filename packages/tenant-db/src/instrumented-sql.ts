import type { Sql } from 'postgres';

/**
 * A postgres.js `Sql` handle that looks up where to run on every query instead of being bound to one
 * pool: a service may hold a tenant's handle across a password rotation or an eviction, and its next
 * query runs on the tenant's current pool. It also times each query and counts the work in flight.
 *
 * postgres.js queries are lazy promises: they run when first awaited (`then`). The handle wraps the
 * `then` of each query it creates, so timing starts when the query is sent, and a query only used as
 * a fragment of another one (never awaited) is neither timed nor counted.
 */
export interface QueryTarget {
  sql: Sql;
  /** Marks work (a query, or a whole transaction) starting on `sql`; returns the function ending it. */
  start(): () => void;
}

export interface QueryHooks {
  onQuery(ms: number): void;
  /** Maps a failure before it reaches the caller (adds the tenant to connection failures). */
  mapError(error: unknown): unknown;
}

type AnyFunction = (...args: unknown[]) => unknown;
type Then = (onFulfilled?: AnyFunction, onRejected?: AnyFunction) => Promise<unknown>;

const noWork = () => () => {};

function refuseToEnd(): Promise<never> {
  return Promise.reject(
    new Error('tenant pools are owned by TenantDatabases: close it instead of ending a tenant handle'),
  );
}

function observe(result: unknown, target: QueryTarget, hooks: QueryHooks): unknown {
  if (!(result instanceof Promise)) return result; // sql(identifier), sql(values): helpers, not queries
  const query = result as unknown as { then: Then };
  const run = query.then;
  let settled: Promise<unknown> | undefined;
  // biome-ignore lint/suspicious/noThenProperty: the query is a promise already; its own then is wrapped
  query.then = (onFulfilled?: AnyFunction, onRejected?: AnyFunction) => {
    if (!settled) {
      const end = target.start();
      const began = performance.now();
      const done = () => {
        end();
        hooks.onQuery(performance.now() - began);
      };
      settled = run.call(
        query,
        (rows: unknown) => {
          done();
          return rows;
        },
        (error: unknown) => {
          done();
          throw hooks.mapError(error);
        },
      );
    }
    return settled.then(onFulfilled, onRejected);
  };
  return query;
}

/**
 * `begin(fn)` / `begin(options, fn)` and `savepoint(fn)` / `savepoint(name, fn)`: the callback gets a
 * handle bound to the transaction's own connection. A transaction counts as one unit of work; the
 * queries inside it are timed but not counted again.
 */
function scoped(method: AnyFunction, target: QueryTarget, hooks: QueryHooks): AnyFunction {
  return (...args: unknown[]) => {
    const fn = args.at(-1);
    // Only BEGIN, COMMIT and the like are mapped here: the callback's own errors reach the caller
    // as they are (its queries' errors were mapped already).
    let callbackFailed = false;
    if (typeof fn === 'function') {
      args[args.length - 1] = async (transaction: Sql) => {
        try {
          const result = fn(instrumentedSql(() => ({ sql: transaction, start: noWork }), hooks));
          // As postgres.js does: an array of queries is a pipeline, run together.
          return await (Array.isArray(result) ? Promise.all(result) : result);
        } catch (error) {
          callbackFailed = true;
          throw error;
        }
      };
    }
    const end = target.start();
    return (method.apply(target.sql, args) as Promise<unknown>)
      .catch((error: unknown) => {
        throw callbackFailed ? error : hooks.mapError(error);
      })
      .finally(end);
  };
}

export function instrumentedSql(resolve: () => QueryTarget, hooks: QueryHooks): Sql {
  // An arrow function: the Proxy needs a callable target for `sql\`...\``, and one without a
  // non-configurable `prototype` so that every property can be forwarded.
  const callable = () => {};
  return new Proxy(callable, {
    apply(_callable, _this, args) {
      const target = resolve();
      return observe(Reflect.apply(target.sql, undefined, args), target, hooks);
    },
    get(_callable, property) {
      // A handle is not a promise: returning it from an async function must not resolve a pool.
      if (property === 'then') return undefined;
      if (property === 'end' || property === 'close') return refuseToEnd;
      const target = resolve();
      const value: unknown = Reflect.get(target.sql, property);
      if (typeof value !== 'function') return value;
      const method = value as AnyFunction;
      if (property === 'unsafe' || property === 'file') {
        return (...args: unknown[]) => observe(method.apply(target.sql, args), target, hooks);
      }
      if (property === 'begin' || property === 'savepoint') return scoped(method, target, hooks);
      return method;
    },
  }) as unknown as Sql;
}
