import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import {
  TENANT_LABEL,
  tenantOfPublicKeysConfigMapName,
  tenantOfSigningKeySecretName,
} from '@tenantry/tenant-api';
import { describe, expect, test } from 'vitest';
import { credentialsFromSecret, publicKeysFromConfigMap, signingKeyFromSecret } from './tenant-secrets.ts';

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

describe('signingKeyFromSecret', () => {
  const privateJwk = { kty: 'EC', crv: 'P-256', kid: 'k1', x: 'x', y: 'y', d: 'd' };
  const publicJwks = { keys: [{ kty: 'EC', crv: 'P-256', kid: 'k1', x: 'x', y: 'y' }] };
  function keySecret(data: Record<string, string>): V1Secret {
    return {
      metadata: { name: 'tenant-acme-signing-key', labels: { [TENANT_LABEL]: 'acme' } },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    };
  }

  test('reads the key id, the private JWK and the public JWKS', () => {
    const secret = keySecret({
      kid: 'k1',
      'private.jwk': JSON.stringify(privateJwk),
      'jwks.json': JSON.stringify(publicJwks),
    });
    expect(tenantOfSigningKeySecretName(secret.metadata?.name)).toBe('acme');
    expect(signingKeyFromSecret('acme', secret)).toEqual({ keyId: 'k1', privateJwk, jwks: publicJwks });
  });

  test('refuses keys that do not match the key id, naming the Secret and key', () => {
    const secret = keySecret({
      kid: 'k2',
      'private.jwk': JSON.stringify(privateJwk),
      'jwks.json': JSON.stringify(publicJwks),
    });
    expect(() => signingKeyFromSecret('acme', secret)).toThrow(
      `Secret tenant-acme-signing-key: key "private.jwk" is not a JWK with the Secret's kid`,
    );
    const broken = keySecret({ kid: 'k1', 'private.jwk': JSON.stringify(privateJwk), 'jwks.json': '{' });
    expect(() => signingKeyFromSecret('acme', broken)).toThrow('key "jwks.json" is not JSON');
  });
});

describe('publicKeysFromConfigMap', () => {
  const jwk = { kty: 'EC', crv: 'P-256', kid: 'k1', x: 'x', y: 'y' };
  const configMap = (data: Record<string, string>, tenant = 'acme'): V1ConfigMap => ({
    metadata: { name: 'tenant-acme-jwks', labels: { [TENANT_LABEL]: tenant } },
    data,
  });

  test('reads the public keys, never a private member even if one was written', () => {
    expect(tenantOfPublicKeysConfigMapName('tenant-acme-jwks')).toBe('acme');
    expect(tenantOfPublicKeysConfigMapName('tenant-acme-db')).toBeUndefined();
    const keys = publicKeysFromConfigMap(
      'acme',
      configMap({ kid: 'k1', 'jwks.json': JSON.stringify({ keys: [{ ...jwk, d: 'secret' }] }) }),
    );
    expect(keys).toEqual({ keyId: 'k1', jwks: { keys: [jwk] } });
  });

  test("refuses another tenant's ConfigMap and a JWKS without the kid", () => {
    expect(() =>
      publicKeysFromConfigMap('acme', configMap({ kid: 'k1', 'jwks.json': '{"keys":[]}' }, 'other')),
    ).toThrow('labelled tenantry.dev/tenant=other, expected acme');
    expect(() =>
      publicKeysFromConfigMap('acme', configMap({ kid: 'k2', 'jwks.json': JSON.stringify({ keys: [jwk] }) })),
    ).toThrow('ConfigMap tenant-acme-jwks: key "jwks.json" is not a JWKS holding the kid');
  });
});
