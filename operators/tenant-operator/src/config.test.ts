import { describe, expect, test } from 'vitest';
import { ConfigError, loadOperatorConfig } from './config.ts';

const minimal = {
  POSTGRES_ADMIN_URL: 'postgres://admin:s3cret@db:5432/postgres',
  KAFKA_BROKERS: 'kafka:9092',
};

describe('operator config', () => {
  test('defaults', () => {
    const config = loadOperatorConfig(minimal);
    expect(config).toMatchObject({
      platformNamespace: 'tenantry-system',
      keysNamespace: 'tenantry-system-keys',
      baseDomain: 'tenantry.localhost',
      concurrency: 4,
      resyncSeconds: 300,
      postgresPublicHost: 'db',
      postgresPublicPort: 5432,
      kafkaBrokers: ['kafka:9092'],
      gateway: { serviceName: 'tenantry-gateway', port: 4000 },
    });
  });

  test('the keys namespace follows the platform namespace, or is named; never the same one', () => {
    expect(loadOperatorConfig({ ...minimal, PLATFORM_NAMESPACE: 'platform' }).keysNamespace).toBe(
      'platform-keys',
    );
    expect(loadOperatorConfig({ ...minimal, KEYS_NAMESPACE: 'vault' }).keysNamespace).toBe('vault');
    expect(() =>
      loadOperatorConfig({ ...minimal, PLATFORM_NAMESPACE: 'platform', KEYS_NAMESPACE: 'platform' }),
    ).toThrow(/KEYS_NAMESPACE must differ from PLATFORM_NAMESPACE/);
    expect(() => loadOperatorConfig({ ...minimal, KEYS_NAMESPACE: 'Not_A_Name' })).toThrow(
      /KEYS_NAMESPACE must be a namespace name/,
    );
  });

  test("CloudNativePG's superuser uri (database *) is read as the postgres database", () => {
    const config = loadOperatorConfig({
      ...minimal,
      POSTGRES_ADMIN_URL: 'postgresql://postgres:pw@acme-rw.db.svc:5432/*',
    });
    expect(new URL(config.postgresAdminUrl).pathname).toBe('/postgres');
  });

  test('errors name the variable and never echo a password', () => {
    expect(() => loadOperatorConfig({ KAFKA_BROKERS: 'k:9092' })).toThrow(/POSTGRES_ADMIN_URL is required/);
    expect(() => loadOperatorConfig({ ...minimal, POSTGRES_ADMIN_URL: 'not a url s3cret' })).toThrow(
      ConfigError,
    );
    expect(() => loadOperatorConfig({ ...minimal, POSTGRES_ADMIN_URL: 'not a url s3cret' })).not.toThrow(
      /s3cret/,
    );
    expect(() => loadOperatorConfig({ ...minimal, POSTGRES_ADMIN_URL: 'mysql://u:p@h/db' })).toThrow(
      /postgres:\/\//,
    );
    expect(() => loadOperatorConfig({ ...minimal, KAFKA_BROKERS: 'kafka' })).toThrow(
      /KAFKA_BROKERS must be host:port/,
    );
    expect(() => loadOperatorConfig({ ...minimal, OPERATOR_CONCURRENCY: '0' })).toThrow(
      /OPERATOR_CONCURRENCY must be an integer from 1 to 64, got "0"/,
    );
    expect(() => loadOperatorConfig({ ...minimal, TENANTRY_BASE_DOMAIN: 'Not_A_Domain' })).toThrow(
      /TENANTRY_BASE_DOMAIN/,
    );
  });

  test('one ConfigError lists every invalid or missing variable', () => {
    let error: unknown;
    try {
      loadOperatorConfig({
        KAFKA_BROKERS: 'kafka',
        OPERATOR_CONCURRENCY: '0',
        OPERATOR_LEADER_ELECTION: 'perhaps',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      'POSTGRES_ADMIN_URL is required',
      'KAFKA_BROKERS must be host:port[,host:port...], got "kafka"',
      'OPERATOR_CONCURRENCY must be an integer from 1 to 64, got "0"',
      'OPERATOR_LEADER_ELECTION must be true or false, got "perhaps"',
      'OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL such as http://otel-collector:4318, got "collector:4318"',
    ]);
  });
});
