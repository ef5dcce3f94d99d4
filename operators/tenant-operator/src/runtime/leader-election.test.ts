import { setTimeout as sleep } from 'node:timers/promises';
import {
  CoordinationV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1Lease,
  V1MicroTime,
} from '@kubernetes/client-node';
import { serviceAccountKubeConfig, test } from '@tenantry/devstack/testing';
import { describe, expect } from 'vitest';
import { type LeaderElectionOptions, LeaderElector } from './leader-election.ts';

const LEASE = 'tenantry-operator';

interface Candidate {
  identity: string;
  elector: LeaderElector;
  /** Date.now() at each onStartedLeading / onStoppedLeading. */
  started: number[];
  stopped: number[];
}

/** Short durations so tests take seconds; each test overrides what it is about. */
function candidate(
  kc: KubeConfig,
  namespace: string,
  identity: string,
  overrides: Partial<LeaderElectionOptions> = {},
): Candidate {
  const started: number[] = [];
  const stopped: number[] = [];
  const elector = new LeaderElector({
    kc,
    namespace,
    name: LEASE,
    identity,
    leaseDurationSeconds: 2,
    renewDeadlineMs: 1500,
    retryPeriodMs: 200,
    onStartedLeading: () => {
      started.push(Date.now());
    },
    onStoppedLeading: () => {
      stopped.push(Date.now());
    },
    ...overrides,
  });
  return { identity, elector, started, stopped };
}

function readLease(kc: KubeConfig, namespace: string): Promise<V1Lease> {
  return kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: LEASE, namespace });
}

/** Lease times arrive as strings in this client version; Date accepts both. */
function millis(time: Date | string | undefined): number {
  return new Date(time ?? 0).getTime();
}

async function createForeignLease(
  kc: KubeConfig,
  namespace: string,
  holder: string,
  durationSeconds: number,
) {
  const now = new V1MicroTime();
  await kc.makeApiClient(CoordinationV1Api).createNamespacedLease({
    namespace,
    body: {
      metadata: { name: LEASE },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: durationSeconds,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: 0,
      },
    },
  });
  return now.getTime();
}

/** A KubeConfig for a ServiceAccount that may only get, create and update Leases in the namespace. */
async function leaseOnlyKubeConfig(admin: KubeConfig, namespace: string): Promise<KubeConfig> {
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'lease-holder' },
      rules: [
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'lease-holder' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'lease-holder' },
      subjects: [{ kind: 'ServiceAccount', name: 'elector', namespace }],
    },
  });
  return serviceAccountKubeConfig(admin, namespace, 'elector');
}

describe('LeaderElector', () => {
  test('exactly one of two candidates leads, keeps renewing, and the lease names it', async ({
    kube,
    namespace,
    onTestFinished,
  }) => {
    // Generous deadline: this test is about mutual exclusion, not about losing the lease under load.
    const durations = { leaseDurationSeconds: 5, renewDeadlineMs: 4000 };
    const a = candidate(kube, namespace, 'replica-a', durations);
    const b = candidate(kube, namespace, 'replica-b', durations);
    onTestFinished(async () => {
      await Promise.all([a.elector.stop(), b.elector.stop()]);
    });
    a.elector.start();
    b.elector.start();

    await expect.poll(() => [a, b].filter((c) => c.elector.isLeader).length, { timeout: 15_000 }).toBe(1);
    const [leader, follower] = a.elector.isLeader ? [a, b] : [b, a];

    // Several renewals later, leadership has not moved and was never shared.
    const firstRenewal = millis((await readLease(kube, namespace)).spec?.renewTime);
    await expect
      .poll(async () => millis((await readLease(kube, namespace)).spec?.renewTime) - firstRenewal, {
        timeout: 15_000,
      })
      .toBeGreaterThanOrEqual(1000);
    expect(leader.elector.isLeader).toBe(true);
    expect(follower.elector.isLeader).toBe(false);
    expect(leader.started).toHaveLength(1);
    expect(follower.started).toHaveLength(0);
    const lease = await readLease(kube, namespace);
    expect(lease.spec?.holderIdentity).toBe(leader.identity);
    expect(lease.spec?.leaseTransitions).toBe(0);
  });

  test('stopping the leader releases the lease, so the other candidate takes over without waiting for expiry', async ({
    kube,
    namespace,
    onTestFinished,
  }) => {
    // Takeover within the poll timeout (10 s) can only come from the release, not from expiry (30 s).
    const durations = { leaseDurationSeconds: 30, renewDeadlineMs: 20_000 };
    const a = candidate(kube, namespace, 'replica-a', durations);
    const b = candidate(kube, namespace, 'replica-b', durations);
    onTestFinished(async () => {
      await Promise.all([a.elector.stop(), b.elector.stop()]);
    });
    a.elector.start();
    await expect.poll(() => a.elector.isLeader, { timeout: 15_000 }).toBe(true);
    b.elector.start();

    await a.elector.stop();
    expect(a.elector.isLeader).toBe(false);
    await expect.poll(() => b.elector.isLeader, { timeout: 10_000 }).toBe(true);

    const lease = await readLease(kube, namespace);
    expect(lease.spec?.holderIdentity).toBe('replica-b');
    expect(lease.spec?.leaseTransitions).toBe(1);
    // A voluntary stop is not a loss.
    expect(a.stopped).toEqual([]);
  });

  test('never takes a lease whose holder keeps renewing it', async ({ kube, namespace, onTestFinished }) => {
    const durationSeconds = 3;
    const createdAt = await createForeignLease(kube, namespace, 'third', durationSeconds);
    const api = kube.makeApiClient(CoordinationV1Api);
    let renewing = true;
    const renewErrors: unknown[] = [];
    const renewer = (async () => {
      while (renewing) {
        try {
          const lease = await api.readNamespacedLease({ name: LEASE, namespace });
          if (lease.spec?.holderIdentity !== 'third')
            throw new Error(`lease taken by ${lease.spec?.holderIdentity}`);
          const spec = { ...lease.spec, renewTime: new V1MicroTime() };
          await api.replaceNamespacedLease({ name: LEASE, namespace, body: { ...lease, spec } });
        } catch (error) {
          renewErrors.push(error);
        }
        await sleep(250);
      }
    })();
    const c = candidate(kube, namespace, 'replica-a');
    onTestFinished(async () => {
      renewing = false;
      await Promise.all([c.elector.stop(), renewer]);
    });
    c.elector.start();

    // Run until the lease, without its renewals, would have expired well before.
    await expect
      .poll(async () => millis((await readLease(kube, namespace)).spec?.renewTime) - createdAt, {
        timeout: 20_000,
      })
      .toBeGreaterThan(durationSeconds * 1000 * 1.5);
    renewing = false;
    await renewer;

    expect(renewErrors).toEqual([]);
    expect(c.started).toEqual([]);
    expect(c.elector.isLeader).toBe(false);
    expect((await readLease(kube, namespace)).spec?.holderIdentity).toBe('third');
  });

  test('takes a lease whose holder stopped renewing, once it has expired', async ({
    kube,
    namespace,
    onTestFinished,
  }) => {
    const durationSeconds = 2;
    const renewedAt = await createForeignLease(kube, namespace, 'gone', durationSeconds);
    const c = candidate(kube, namespace, 'replica-a');
    onTestFinished(() => c.elector.stop());
    c.elector.start();

    await expect.poll(() => c.elector.isLeader, { timeout: 15_000 }).toBe(true);
    expect(c.started).toHaveLength(1);
    expect(c.started[0]).toBeGreaterThanOrEqual(renewedAt + durationSeconds * 1000);
    const lease = await readLease(kube, namespace);
    expect(lease.spec?.holderIdentity).toBe('replica-a');
    expect(lease.spec?.leaseTransitions).toBe(1);
  });

  test('steps down when it cannot renew for longer than renewDeadline', async ({
    kube,
    namespace,
    onTestFinished,
  }) => {
    const kc = await leaseOnlyKubeConfig(kube, namespace);
    const renewDeadlineMs = 1500;
    const c = candidate(kc, namespace, 'replica-a', { leaseDurationSeconds: 3, renewDeadlineMs });
    onTestFinished(() => c.elector.stop());
    c.elector.start();
    await expect.poll(() => c.elector.isLeader, { timeout: 15_000 }).toBe(true);

    // Revoke its access: every renewal from now on fails with 403.
    await kube
      .makeApiClient(RbacAuthorizationV1Api)
      .deleteNamespacedRoleBinding({ name: 'lease-holder', namespace });

    await expect.poll(() => c.stopped.length, { timeout: 15_000 }).toBe(1);
    expect(c.elector.isLeader).toBe(false);
    const lease = await readLease(kube, namespace);
    expect(lease.spec?.holderIdentity).toBe('replica-a');
    const lastRenewal = millis(lease.spec?.renewTime);
    expect((c.stopped[0] ?? 0) - lastRenewal).toBeGreaterThanOrEqual(renewDeadlineMs);
    // It is finished: no second loss, no new term.
    await sleep(500);
    expect(c.stopped).toHaveLength(1);
    expect(c.started).toHaveLength(1);
  });

  test('rejects durations that would let two replicas lead at once', () => {
    const base = {
      kc: new KubeConfig(),
      namespace: 'ns',
      name: LEASE,
      identity: 'replica-a',
      onStartedLeading: () => {},
      onStoppedLeading: () => {},
    };
    expect(() => new LeaderElector({ ...base, leaseDurationSeconds: 2 })).toThrow(
      /renewDeadlineMs \(10000\)/,
    );
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 1000, retryPeriodMs: 1000 })).toThrow(
      /retryPeriodMs/,
    );
    expect(() => new LeaderElector({ ...base, identity: '' })).toThrow(/identity/);
  });
});
