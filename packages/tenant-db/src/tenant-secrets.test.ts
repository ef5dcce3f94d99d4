import type { V1Secret } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { credentialsFromSecret, TENANT_LABEL, tenantOfSecretName } from './tenant-secrets.ts';

describe('tenantOfSecretName', () => {
  test('names the tenant of an app credentials Secret, and of no other', () => {
    expect(tenantOfSecretName('tenant-acme-db')).toBe('acme');
    expect(tenantOfSecretName('tenant-acme-db-db')).toBe('acme-db');
    expect(tenantOfSecretName('tenant-acme-db-owner')).toBeUndefined();
    expect(tenantOfSecretName('tenant-ab-db')).toBeUndefined(); // tenant names have 3 characters or more
    expect(tenantOfSecretName('tenant-Acme-db')).toBeUndefined();
    expect(tenantOfSecretName('acme-db')).toBeUndefined();
    expect(tenantOfSecretName(undefined)).toBeUndefined();
  });
});

function secret(data: Record<string, string>, tenant = 'acme'): V1Secret {
  return {
    metadata: { name: `tenant-${tenant}-db`, labels: { [TENANT_LABEL]: tenant } },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

const complete = {
  host: '127.0.0.1',
  port: '5432',
  database: 'tenant_acme',
  username: 'tenant_acme_app',
  password: 'correct-horse-battery-staple',
};

describe('credentialsFromSecret', () => {
  test('reads the credentials from the data keys', () => {
    expect(credentialsFromSecret('acme', secret(complete))).toEqual({ ...complete, port: 5432 });
  });

  test('names the Secret and the missing key, never a value', () => {
    const { password: _password, ...withoutPassword } = complete;
    expect(() => credentialsFromSecret('acme', secret(withoutPassword))).toThrow(
      'Secret tenant-acme-db has no key "password"',
    );
    expect(() => credentialsFromSecret('acme', secret({ ...complete, port: 'x' }))).toThrow(
      'Secret tenant-acme-db: key "port" is not a TCP port',
    );
  });

  test("refuses a Secret labelled for another tenant than its name's", () => {
    expect(() => credentialsFromSecret('acme', secret(complete, 'other'))).toThrow(
      'labelled tenantry.dev/tenant=other, expected acme',
    );
  });
});
