import { FormatRegistry, type SchemaOptions, type StaticDecode, Type } from '@sinclair/typebox';

const URL_FORMAT = 'url';

// TypeBox checks only formats it has been taught; `URL.canParse` is what the consumers (postgres.js,
// kafkajs, fetch) will accept, so it is the right test.
if (!FormatRegistry.Has(URL_FORMAT)) FormatRegistry.Set(URL_FORMAT, (value) => URL.canParse(value));

const MIN_PORT = 1;
const MAX_PORT = 65_535;

/** A TCP port to listen on or connect to. */
export function port(defaultPort?: number) {
  return Type.Integer({ minimum: MIN_PORT, maximum: MAX_PORT, ...withDefault(defaultPort) });
}

export interface UrlOptions extends SchemaOptions {
  /** Hide the value in error messages: connection URLs carry passwords. */
  secret?: boolean;
}

/** An absolute URL, e.g. `postgres://user:pass@host/db` or `https://api.example.com`. */
export function url(options: UrlOptions = {}) {
  return Type.String({ ...options, format: URL_FORMAT });
}

/** pino's levels, plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

export function logLevel(defaultLevel: LogLevel = DEFAULT_LOG_LEVEL) {
  return Type.Union(
    LOG_LEVELS.map((level) => Type.Literal(level)),
    { default: defaultLevel },
  );
}

/**
 * A comma-separated list (`a, b,c` → `['a', 'b', 'c']`); blanks are dropped, so an empty variable is
 * an empty list.
 */
export function commaList(defaultItems?: readonly string[]) {
  return Type.Transform(Type.String(withDefault(defaultItems?.join(','))))
    .Decode((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    )
    .Encode((items) => items.join(','));
}

export type CommaList = StaticDecode<ReturnType<typeof commaList>>;

/** A `default` keyword only when there is one: TypeBox would apply an explicit `default: undefined`. */
function withDefault<T>(value: T | undefined): { default?: T } {
  return value === undefined ? {} : { default: value };
}
