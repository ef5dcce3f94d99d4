import { KubernetesObjectApi, NetworkingV1Api, PatchStrategy, type V1Ingress } from '@kubernetes/client-node';
import { test } from '@tenantry/devstack/testing';
import type { Tenant } from '@tenantry/tenant-api';
import { MANAGED_BY, MANAGED_BY_LABEL, TENANT_LABEL } from '@tenantry/tenant-api';
import { describe, expect } from 'vitest';
import { buildIngress, type RouteConfig, resolveHostClaims, routedHosts } from './ingress.ts';

const BASE = 'tenantry.test';

function tenant(
  name: string,
  options: { domains?: string[]; created?: string; deleting?: boolean; uid?: string } = {},
): Tenant {
  return {
    apiVersion: 'tenantry.dev/v1alpha1',
    kind: 'Tenant',
    metadata: {
      name,
      uid: options.uid ?? `uid-${name}`,
      creationTimestamp: new Date(options.created ?? '2026-01-01T00:00:00Z'),
      ...(options.deleting ? { deletionTimestamp: new Date('2026-06-01T00:00:00Z') } : {}),
    },
    spec: { displayName: name, plan: 'pro', ...(options.domains ? { domains: options.domains } : {}) },
  };
}

describe('resolveHostClaims', () => {
  test('gives every tenant its default host', () => {
    const claims = resolveHostClaims([tenant('acme'), tenant('globex')], BASE);
    expect(claims.get('acme.tenantry.test')).toBe('acme');
    expect(claims.get('globex.tenantry.test')).toBe('globex');
  });

  test('gives a shared domain to the oldest claimant, whatever the list order', () => {
    const young = tenant('aaa', { domains: ['chat.shared.test'], created: '2026-03-01T00:00:00Z' });
    const old = tenant('zzz', { domains: ['chat.shared.test'], created: '2026-02-01T00:00:00Z' });
    expect(resolveHostClaims([young, old], BASE).get('chat.shared.test')).toBe('zzz');
    expect(resolveHostClaims([old, young], BASE).get('chat.shared.test')).toBe('zzz');
  });

  test('breaks a creation-time tie by name', () => {
    const globex = tenant('globex', { domains: ['chat.shared.test'] });
    const acme = tenant('acme', { domains: ['chat.shared.test'] });
    expect(resolveHostClaims([globex, acme], BASE).get('chat.shared.test')).toBe('acme');
  });

  test('accepts creation timestamps as JSON strings, as the generic client returns them', () => {
    const old = tenant('zzz', { domains: ['chat.shared.test'] });
    old.metadata.creationTimestamp = '2025-01-01T00:00:00Z' as unknown as Date;
    const young = tenant('aaa', { domains: ['chat.shared.test'], created: '2026-01-01T00:00:00Z' });
    expect(resolveHostClaims([young, old], BASE).get('chat.shared.test')).toBe('zzz');
  });

  test('a tenant being deleted releases its domains and claims nothing', () => {
    const leaving = tenant('acme', {
      domains: ['chat.shared.test'],
      created: '2025-01-01T00:00:00Z',
      deleting: true,
    });
    const next = tenant('globex', { domains: ['chat.shared.test'], created: '2026-01-01T00:00:00Z' });
    const claims = resolveHostClaims([leaving, next], BASE);
    expect(claims.get('chat.shared.test')).toBe('globex');
    expect(claims.has('acme.tenantry.test')).toBe(false);
  });

  test("a tenant cannot take another tenant's default host, even when it is older", () => {
    const squatter = tenant('globex', { domains: ['acme.tenantry.test'], created: '2025-01-01T00:00:00Z' });
    const acme = tenant('acme', { created: '2026-01-01T00:00:00Z' });
    expect(resolveHostClaims([squatter, acme], BASE).get('acme.tenantry.test')).toBe('acme');
  });
});

describe('routedHosts', () => {
  test('routes the default host first, then the domains in spec order', () => {
    const acme = tenant('acme', { domains: ['b.acme.test', 'a.acme.test'] });
    const claims = resolveHostClaims([acme], BASE);
    expect(routedHosts(acme, claims, BASE)).toEqual({
      hosts: ['acme.tenantry.test', 'b.acme.test', 'a.acme.test'],
      conflicts: [],
    });
  });

  test('reports a domain owned by another tenant as a conflict naming the owner', () => {
    const owner = tenant('acme', { domains: ['chat.shared.test'], created: '2025-01-01T00:00:00Z' });
    const late = tenant('globex', {
      domains: ['chat.shared.test', 'globex.example'],
      created: '2026-01-01T00:00:00Z',
    });
    const claims = resolveHostClaims([owner, late], BASE);
    expect(routedHosts(late, claims, BASE)).toEqual({
      hosts: ['globex.tenantry.test', 'globex.example'],
      conflicts: [{ host: 'chat.shared.test', owner: 'acme' }],
    });
    expect(routedHosts(owner, claims, BASE).hosts).toEqual(['acme.tenantry.test', 'chat.shared.test']);
  });

  test("reports another tenant's default host as a conflict", () => {
    const acme = tenant('acme');
    const globex = tenant('globex', { domains: ['acme.tenantry.test'], created: '2025-01-01T00:00:00Z' });
    const claims = resolveHostClaims([acme, globex], BASE);
    expect(routedHosts(globex, claims, BASE)).toEqual({
      hosts: ['globex.tenantry.test'],
      conflicts: [{ host: 'acme.tenantry.test', owner: 'acme' }],
    });
  });

  test('does not repeat the default host when it is also listed as a domain', () => {
    const acme = tenant('acme', { domains: ['acme.tenantry.test', 'chat.acme.test'] });
    const claims = resolveHostClaims([acme], BASE);
    expect(routedHosts(acme, claims, BASE)).toEqual({
      hosts: ['acme.tenantry.test', 'chat.acme.test'],
      conflicts: [],
    });
  });

  test('routes a domain nobody claims (claims computed before the tenant was listed)', () => {
    const acme = tenant('acme', { domains: ['chat.acme.test'] });
    expect(routedHosts(acme, new Map(), BASE).hosts).toEqual(['acme.tenantry.test', 'chat.acme.test']);
  });
});

describe('buildIngress', () => {
  const config: RouteConfig = {
    platformNamespace: 'tenantry-system',
    baseDomain: BASE,
    gateway: { serviceName: 'tenantry-gateway', port: 4000 },
  };
  const acme = tenant('acme', { uid: '8f1c2d4e-0000-4000-8000-000000000001' });
  const hosts = ['acme.tenantry.test', 'chat.acme.test'];

  test('names, labels and annotates the Ingress in the platform namespace', () => {
    const ingress = buildIngress(acme, hosts, config, { suspended: false });
    expect(ingress.apiVersion).toBe('networking.k8s.io/v1');
    expect(ingress.kind).toBe('Ingress');
    expect(ingress.metadata?.name).toBe('tenant-acme');
    expect(ingress.metadata?.namespace).toBe('tenantry-system');
    expect(ingress.metadata?.labels).toEqual({ [TENANT_LABEL]: 'acme', [MANAGED_BY_LABEL]: MANAGED_BY });
    expect(ingress.metadata?.annotations).toEqual({
      'tenantry.dev/suspended': 'false',
      'tenantry.dev/plan': 'pro',
    });
  });

  test('marks a suspended tenant for the gateway', () => {
    const ingress = buildIngress(acme, hosts, config, { suspended: true });
    expect(ingress.metadata?.annotations?.['tenantry.dev/suspended']).toBe('true');
  });

  test('is owned by the cluster-scoped Tenant, without blocking its deletion', () => {
    const ingress = buildIngress(acme, hosts, config, { suspended: false });
    expect(ingress.metadata?.ownerReferences).toEqual([
      {
        apiVersion: 'tenantry.dev/v1alpha1',
        kind: 'Tenant',
        name: 'acme',
        uid: '8f1c2d4e-0000-4000-8000-000000000001',
        controller: true,
        blockOwnerDeletion: false,
      },
    ]);
  });

  test('routes every host, in order, with /api and /docs (not /health or /metrics) to the gateway Service', () => {
    const ingress = buildIngress(acme, hosts, config, { suspended: false });
    const backend = { service: { name: 'tenantry-gateway', port: { number: 4000 } } };
    const paths = [
      { path: '/api', pathType: 'Prefix', backend },
      { path: '/docs', pathType: 'Prefix', backend },
    ];
    expect(ingress.spec?.rules).toEqual(hosts.map((host) => ({ host, http: { paths } })));
  });

  test('sets the ingress class and TLS only when configured', () => {
    const plain = buildIngress(acme, hosts, config, { suspended: false });
    expect(plain.spec).not.toHaveProperty('ingressClassName');
    expect(plain.spec).not.toHaveProperty('tls');

    const configured = buildIngress(
      acme,
      hosts,
      { ...config, ingressClassName: 'nginx', tlsSecretName: 'tenantry-wildcard-tls' },
      { suspended: false },
    );
    expect(configured.spec?.ingressClassName).toBe('nginx');
    expect(configured.spec?.tls).toEqual([{ hosts, secretName: 'tenantry-wildcard-tls' }]);
  });

  test('refuses a tenant without a uid, which could not own the Ingress', () => {
    const unsaved = tenant('acme');
    delete unsaved.metadata.uid;
    expect(() => buildIngress(unsaved, hosts, config, { suspended: false })).toThrow(
      'while building the Ingress of tenant acme: the tenant has no metadata.uid',
    );
  });
});

test('the built Ingress is accepted by the API server (server-side apply, dry run)', async ({
  kube,
  namespace,
}) => {
  const acme = tenant('acme', { domains: ['chat.acme.test'], uid: '2b7e4c1a-5d3f-4e8a-9c6b-0f1e2d3c4b5a' });
  const config: RouteConfig = {
    platformNamespace: namespace,
    baseDomain: BASE,
    ingressClassName: 'nginx',
    tlsSecretName: 'tenantry-wildcard-tls',
    gateway: { serviceName: 'tenantry-gateway', port: 4000 },
  };
  const { hosts } = routedHosts(acme, resolveHostClaims([acme], BASE), BASE);
  const ingress = buildIngress(acme, hosts, config, { suspended: true });

  const applied: V1Ingress = await KubernetesObjectApi.makeApiClient(kube).patch(
    ingress,
    undefined,
    'All',
    'tenantry',
    true,
    PatchStrategy.ServerSideApply,
  );

  expect(applied.metadata?.namespace).toBe(namespace);
  expect(applied.metadata?.ownerReferences?.[0]).toMatchObject({
    kind: 'Tenant',
    name: 'acme',
    controller: true,
  });
  expect(applied.spec?.rules?.map((r) => r.host)).toEqual(['acme.tenantry.test', 'chat.acme.test']);
  expect(applied.spec?.tls).toEqual([{ hosts, secretName: 'tenantry-wildcard-tls' }]);
  // A dry run persists nothing.
  const stored = await kube.makeApiClient(NetworkingV1Api).listNamespacedIngress({ namespace });
  expect(stored.items).toEqual([]);
});
