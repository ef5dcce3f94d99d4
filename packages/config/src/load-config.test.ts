import { Type } from '@sinclair/typebox';
import { describe, expect, test } from 'vitest';
import { ConfigError } from './config-error.ts';
import { commaList, logLevel, port, url } from './fragments.ts';
import { defineConfig, loadConfig } from './load-config.ts';

const schema = Type.Object({
  PORT: port(3001),
  DATABASE_URL: url({ secret: true }),
  LOG_LEVEL: logLevel(),
  CORS_ORIGINS: commaList([]),
  DEBUG_SQL: Type.Optional(Type.Boolean()),
  PUBLIC_URL: url(),
});

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  test('converts strings to the schema types and applies defaults', () => {
    const config = loadConfig(schema, {
      DATABASE_URL: 'postgres://app:pw@127.0.0.1:5432/app',
      PUBLIC_URL: 'https://chat.acme.test',
      CORS_ORIGINS: 'https://a.test, https://b.test,,',
      DEBUG_SQL: 'true',
      UNRELATED: 'ignored',
    });
    expect(config).toEqual({
      PORT: 3001,
      DATABASE_URL: 'postgres://app:pw@127.0.0.1:5432/app',
      LOG_LEVEL: 'info',
      CORS_ORIGINS: ['https://a.test', 'https://b.test'],
      DEBUG_SQL: true,
      PUBLIC_URL: 'https://chat.acme.test',
    });
  });

  test('an empty variable counts as unset, so the default applies', () => {
    const config = loadConfig(schema, {
      PORT: '',
      LOG_LEVEL: '',
      DATABASE_URL: 'postgres://h/db',
      PUBLIC_URL: 'http://x.test',
    });
    expect(config.PORT).toBe(3001);
    expect(config.LOG_LEVEL).toBe('info');
    expect(config.CORS_ORIGINS).toEqual([]);
  });

  test('one ConfigError lists every invalid or missing variable by name, in schema order', () => {
    const error = configError(() =>
      loadConfig(schema, { PORT: 'abc', LOG_LEVEL: 'loud', DEBUG_SQL: 'maybe', PUBLIC_URL: 'not a url' }),
    );
    expect(error.issues).toEqual([
      'PORT must be an integer from 1 to 65535, got "abc"',
      'DATABASE_URL is required',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
      'DEBUG_SQL must be true or false, got "maybe"',
      'PUBLIC_URL must be a URL, got "not a url"',
    ]);
    expect(error.message).toBe(`invalid configuration: ${error.issues.join('; ')}`);
  });

  test('a port out of range is rejected with the range', () => {
    const error = configError(() =>
      loadConfig(schema, { PORT: '70000', DATABASE_URL: 'postgres://h/db', PUBLIC_URL: 'http://x.test' }),
    );
    expect(error.issues).toEqual(['PORT must be an integer from 1 to 65535, got "70000"']);
  });

  test('a secret value is never echoed in the error', () => {
    const error = configError(() =>
      loadConfig(schema, { DATABASE_URL: 'p@ssw0rd-not-a-url', PUBLIC_URL: 'http://x.test' }),
    );
    expect(error.issues).toEqual(['DATABASE_URL must be a URL, got (value hidden)']);
    expect(error.message).not.toContain('p@ssw0rd');
  });
});

describe('defineConfig', () => {
  test('loads from the given environment each time load is called', () => {
    const config = defineConfig(Type.Object({ PORT: port() }));
    expect(config.load({ PORT: '8080' })).toEqual({ PORT: 8080 });
    expect(configError(() => config.load({})).issues).toEqual(['PORT is required']);
  });

  test('rejects, naming the property, a schema no environment string could satisfy', () => {
    expect(() => defineConfig(Type.Object({ LIMITS: Type.Object({ max: Type.Number() }) }))).toThrow(
      /defineConfig: LIMITS must be a string, number, integer, boolean or union of literals/,
    );
  });
});
