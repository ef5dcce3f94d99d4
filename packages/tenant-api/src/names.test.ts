import { describe, expect, test } from 'vitest';
import {
  appSecretName,
  databaseName,
  eventsTopic,
  ownerSecretName,
  publicKeysConfigMapName,
  signingKeySecretName,
  TENANT_TOPICS,
  tenantOfPublicKeysConfigMapName,
  tenantOfSecretName,
  tenantOfSigningKeySecretName,
  tenantOfTopic,
} from './names.ts';

describe('tenant names', () => {
  test('SQL names use underscores, and anything but a DNS label of 3-40 characters is refused', () => {
    expect(databaseName('acme-corp')).toBe('tenant_acme_corp');
    for (const bad of ['ab', 'Acme', 'acme;drop', '-acme', 'a'.repeat(41), 'acme"']) {
      expect(() => databaseName(bad)).toThrow(/invalid tenant name/);
      expect(() => eventsTopic(bad)).toThrow(/invalid tenant name/);
    }
  });

  test.for(['acme', 'acme-db', 'a-b-c', 'x'.repeat(40)])('every name of %s parses back to it', (tenant) => {
    expect(tenantOfSecretName(appSecretName(tenant))).toBe(tenant);
    expect(tenantOfSigningKeySecretName(signingKeySecretName(tenant))).toBe(tenant);
    expect(tenantOfPublicKeysConfigMapName(publicKeysConfigMapName(tenant))).toBe(tenant);
    expect(tenantOfTopic(eventsTopic(tenant))).toBe(tenant);
    expect(TENANT_TOPICS.test(eventsTopic(tenant))).toBe(true);
  });

  test('a name of one kind is not read as another kind', () => {
    expect(tenantOfSecretName(ownerSecretName('acme'))).toBeUndefined();
    expect(tenantOfSecretName(signingKeySecretName('acme'))).toBeUndefined();
    expect(tenantOfPublicKeysConfigMapName(appSecretName('acme'))).toBeUndefined();
    expect(tenantOfSecretName('tenant-ab-db')).toBeUndefined();
    expect(tenantOfSecretName('tenant-Acme-db')).toBeUndefined();
    expect(tenantOfSecretName(undefined)).toBeUndefined();
    expect(tenantOfTopic('tenantry.acme.other')).toBeUndefined();
    expect(tenantOfTopic('other.acme.events')).toBeUndefined();
  });
});
