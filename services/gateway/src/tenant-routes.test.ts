import type { V1Ingress } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { normalizeHost, TenantRoutes } from './tenant-routes.ts';

/** An Ingress as the operator writes it (operators/tenant-operator/src/tenant/routes.ts). */
function ingress(
  tenant: string,
  hosts: string[],
  extra: { suspended?: boolean; plan?: string; created?: string; label?: string } = {},
): V1Ingress {
  return {
    metadata: {
      name: `tenant-${tenant}`,
      labels: { 'tenantry.dev/tenant': extra.label ?? tenant },
      annotations: {
        'tenantry.dev/suspended': String(extra.suspended ?? false),
        'tenantry.dev/plan': extra.plan ?? 'free',
      },
      ...(extra.created ? { creationTimestamp: extra.created as unknown as Date } : {}),
    },
    spec: { rules: hosts.map((host) => ({ host })) },
  };
}

describe('normalizeHost', () => {
  test('ignores case, port and a trailing dot', () => {
    expect(normalizeHost('Acme.Example.TEST:4000')).toBe('acme.example.test');
    expect(normalizeHost('acme.example.test.')).toBe('acme.example.test');
    expect(normalizeHost('[::1]:4000')).toBe('[::1]');
    expect(normalizeHost('')).toBeUndefined();
    expect(normalizeHost(undefined)).toBeUndefined();
  });
});

describe('TenantRoutes', () => {
  test('finds the tenant of every host of its Ingress, with its suspension and plan', () => {
    const routes = TenantRoutes.fromIngresses([
      ingress('acme', ['acme.tenantry.localhost', 'chat.acme.test'], { plan: 'pro' }),
      ingress('globex', ['globex.tenantry.localhost'], { suspended: true }),
    ]);
    expect(routes.lookup('CHAT.acme.test:443')).toEqual({ tenant: 'acme', suspended: false, plan: 'pro' });
    expect(routes.lookup('acme.tenantry.localhost')?.tenant).toBe('acme');
    expect(routes.lookup('globex.tenantry.localhost')).toEqual({
      tenant: 'globex',
      suspended: true,
      plan: 'free',
    });
    expect(routes.lookup('initech.tenantry.localhost')).toBeUndefined();
    expect(routes.lookup(undefined)).toBeUndefined();
  });

  test('ignores an Ingress whose tenant label is not a tenant name', () => {
    const routes = TenantRoutes.fromIngresses([ingress('x', ['x.test']), ingress('ab', ['ab.test'])]);
    expect(routes.lookup('x.test')).toBeUndefined();
    expect(routes.lookup('ab.test')).toBeUndefined();
  });

  test('a host listed by two Ingresses (mid-move) stays with the older one', () => {
    const routes = TenantRoutes.fromIngresses([
      ingress('newer', ['newer.test', 'shared.test'], { created: '2025-02-01T00:00:00Z' }),
      ingress('older', ['older.test', 'shared.test'], { created: '2025-01-01T00:00:00Z' }),
    ]);
    expect(routes.lookup('shared.test')?.tenant).toBe('older');
    expect(routes.lookup('newer.test')?.tenant).toBe('newer');
  });
});
