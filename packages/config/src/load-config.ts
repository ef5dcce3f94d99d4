import { type StaticDecode, type TObject, type TSchema, TypeGuard } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigError } from './config-error.ts';
import { describeExpectation } from './expectation.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export interface ConfigDefinition<T extends TObject> {
  readonly schema: T;
  /** Parses `env` into the typed configuration, or throws one ConfigError listing every problem. */
  load(env?: Env): StaticDecode<T>;
}

/**
 * A program's configuration: property names are the environment variable names, property schemas
 * say how to read them. Checked now, so a schema no environment could satisfy fails at import time
 * rather than at the first deploy.
 */
export function defineConfig<T extends TObject>(schema: T): ConfigDefinition<T> {
  if (!TypeGuard.IsObject(schema)) throw new TypeError('defineConfig: schema must be a TypeBox Type.Object');
  for (const [name, property] of Object.entries(schema.properties)) {
    if (describeExpectation(property) === undefined) {
      throw new TypeError(
        `defineConfig: ${name} must be a string, number, integer, boolean or union of literals ` +
          `(environment variables are strings), got ${String(property.type ?? 'another kind')}`,
      );
    }
  }
  return { schema, load: (env = process.env) => parse(schema, env) };
}

/** `defineConfig(schema).load(env)`, for programs with one place that reads the environment anyway. */
export function loadConfig<T extends TObject>(schema: T, env: Env = process.env): StaticDecode<T> {
  return defineConfig(schema).load(env);
}

function parse<T extends TObject>(schema: T, env: Env): StaticDecode<T> {
  const raw: Record<string, string> = {};
  for (const name of Object.keys(schema.properties)) {
    const value = env[name];
    // Manifests and .env files render "not set" as an empty string; treating it as unset lets the
    // default apply instead of failing on "" as a port.
    if (value !== undefined && value !== '') raw[name] = value;
  }
  const value = Value.Convert(schema, Value.Default(schema, { ...raw }));
  if (Value.Check(schema, value)) return Value.Decode(schema, value);

  const invalid = new Set<string>();
  for (const error of Value.Errors(schema, value)) invalid.add(topLevelName(error.path));
  const issues = Object.entries(schema.properties)
    .filter(([name]) => invalid.has(name))
    .map(([name, property]) => describeIssue(name, property, raw[name]));
  throw new ConfigError(issues);
}

function describeIssue(name: string, schema: TSchema, raw: string | undefined): string {
  if (raw === undefined) return `${name} is required`;
  const shown = schema.secret === true ? '(value hidden)' : JSON.stringify(raw);
  return `${name} must be ${describeExpectation(schema)}, got ${shown}`;
}

/** `/PORT` → `PORT` (JSON pointer, RFC 6901 escapes undone). */
function topLevelName(path: string): string {
  const [, first = ''] = path.split('/');
  return first.replaceAll('~1', '/').replaceAll('~0', '~');
}
