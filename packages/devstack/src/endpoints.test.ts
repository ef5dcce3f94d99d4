import { describe, expect, test } from 'vitest';
import { loadConfig } from './config.ts';
import { type Endpoints, endpointVariables, toShell } from './endpoints.ts';

const endpoints: Endpoints = {
  provider: 'local',
  postgres: {
    url: "postgres://tenantry:p'w@127.0.0.1:5432/postgres",
    host: '127.0.0.1',
    port: 5432,
    user: 'tenantry',
    password: "p'w",
  },
  kafka: { brokers: ['127.0.0.1:9092', '127.0.0.1:9093'] },
  kube: { kubeconfig: '/state/kubeconfig', server: 'https://127.0.0.1:6443' },
  clickhouse: { mode: 'embedded', path: '/state/clickhouse' },
  stripe: { url: 'http://127.0.0.1:12111', apiKey: 'sk_test_devstack' },
  smtp: { host: '127.0.0.1', port: 1025 },
  mailpit: { apiUrl: 'http://127.0.0.1:8025/api/v1', uiUrl: 'http://127.0.0.1:8025/' },
  aiProviders: {
    openaiBaseUrl: 'http://127.0.0.1:7000/openai/v1',
    anthropicBaseUrl: 'http://127.0.0.1:7000/anthropic',
    geminiBaseUrl: 'http://127.0.0.1:7000/gemini',
    apiKey: 'fake-devstack-key',
  },
  bin: { kubectl: '/cache/kubectl', helm: '/cache/helm' },
};

describe('endpoints', () => {
  test('shell lines quote values so eval reproduces them exactly', () => {
    const shell = toShell(endpoints);
    expect(shell).toContain(`export DATABASE_URL='postgres://tenantry:p'\\''w@127.0.0.1:5432/postgres'`);
    expect(shell).toContain('export KAFKA_BROKERS=127.0.0.1:9092,127.0.0.1:9093');
    expect(shell).toContain('export CLICKHOUSE_PATH=/state/clickhouse');
  });

  test('stripe-mock and Mailpit are exported under the names services read', () => {
    expect(endpointVariables(endpoints)).toMatchObject({
      STRIPE_API_BASE: 'http://127.0.0.1:12111',
      STRIPE_SECRET_KEY: 'sk_test_devstack',
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: '1025',
      MAILPIT_API_URL: 'http://127.0.0.1:8025/api/v1',
      MAILPIT_UI_URL: 'http://127.0.0.1:8025/',
      OPENAI_BASE_URL: 'http://127.0.0.1:7000/openai/v1',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:7000/anthropic',
      GEMINI_BASE_URL: 'http://127.0.0.1:7000/gemini',
    });
  });

  test('http ClickHouse exports its URL instead of a path', () => {
    const vars = endpointVariables({ ...endpoints, clickhouse: { mode: 'http', url: 'http://ch:8123' } });
    expect(vars).toMatchObject({ CLICKHOUSE_MODE: 'http', CLICKHOUSE_URL: 'http://ch:8123' });
    expect(vars).not.toHaveProperty('CLICKHOUSE_PATH');
  });
});

describe('config', () => {
  test('rejects an unknown provider, naming the variable', () => {
    expect(() => loadConfig('dev', { TENANTRY_INFRA: 'docker' })).toThrow(
      /TENANTRY_INFRA must be "local" or "containers"/,
    );
  });

  test('rejects a CLICKHOUSE_URL that is not http(s)', () => {
    expect(() => loadConfig('dev', { CLICKHOUSE_URL: 'tcp://ch:9000' })).toThrow(
      /CLICKHOUSE_URL must be an http/,
    );
  });

  test('state dir is per profile and follows TENANTRY_STATE_DIR', () => {
    expect(loadConfig('test', { TENANTRY_STATE_DIR: '/x' }).stateDir).toBe('/x/test');
    expect(loadConfig('dev', {}).stateDir).toMatch(/\.devstack\/dev$/);
  });
});
