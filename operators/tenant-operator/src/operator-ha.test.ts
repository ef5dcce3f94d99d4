import pino from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type RunningOperator, startOperator } from './operator.ts';
import { type OperatorHarness, startOperatorHarness } from './test-support.ts';

/**
 * Two replicas of the operator on one Lease: exactly one leads and reconciles; when it stops (and
 * releases the Lease) the standby takes over and keeps onboarding tenants.
 */
let h: OperatorHarness;
let standby: RunningOperator;
const READY = { timeout: 30_000, interval: 200 };

beforeAll(async () => {
  h = await startOperatorHarness();
  standby = await startOperator({
    kc: h.operatorKc,
    config: { ...h.config, leaderElection: { ...h.config.leaderElection, identity: `${h.shard}-standby` } },
    logger: pino({ level: 'error' }),
  });
});

afterAll(async () => {
  // The harness deletes its tenants first: the replica still running processes their finalizers.
  await h?.stop();
  await standby?.stop();
});

async function ready(name: string) {
  await expect.poll(async () => (await h.condition(name, 'Ready'))?.status, READY).toBe('True');
}

test('one replica leads; the standby takes over when the leader stops', async () => {
  await expect.poll(() => [h.operator.isLeader, standby.isLeader].filter(Boolean).length, READY).toBe(1);
  // Both started at about the same time: either may have won the Lease.
  const [leader, follower] = h.operator.isLeader ? [h.operator, standby] : [standby, h.operator];
  const first = h.tenantName('ha');
  await h.createTenant(first, {});
  await ready(first);
  expect(follower.isLeader).toBe(false);

  await leader.stop();
  await expect.poll(() => follower.isLeader, READY).toBe(true);
  const second = h.tenantName('ha');
  await h.createTenant(second, {});
  await ready(second);
});
