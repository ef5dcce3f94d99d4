import type { Condition } from '@tenantry/tenant-api';
import { describe, expect, test } from 'vitest';
import { readyCondition, setCondition } from './conditions.ts';

const t0 = new Date('2026-11-01T10:00:00.000Z');
const t1 = new Date('2026-11-01T10:05:00.000Z');

describe('setCondition', () => {
  test('keeps lastTransitionTime while the status stays the same, even if the message changes', () => {
    const first = setCondition(
      [],
      { type: 'TopicsReady', status: 'False', reason: 'KafkaUnavailable', message: 'a' },
      1,
      t0,
    );
    const second = setCondition(
      first,
      { type: 'TopicsReady', status: 'False', reason: 'KafkaUnavailable', message: 'b' },
      2,
      t1,
    );
    expect(second[0]).toMatchObject({
      message: 'b',
      observedGeneration: 2,
      lastTransitionTime: '2026-11-01T10:00:00Z',
    });
  });

  test('moves lastTransitionTime when the status flips', () => {
    const first = setCondition(
      [],
      { type: 'TopicsReady', status: 'False', reason: 'KafkaUnavailable', message: 'a' },
      1,
      t0,
    );
    const second = setCondition(
      first,
      { type: 'TopicsReady', status: 'True', reason: 'Reconciled', message: 'ok' },
      1,
      t1,
    );
    expect(second[0]?.lastTransitionTime).toBe('2026-11-01T10:05:00Z');
  });

  test('orders conditions as the steps run, Ready last', () => {
    let conditions: Condition[] = [];
    for (const type of ['Ready', 'RoutesReady', 'DatabaseReady'] as const) {
      conditions = setCondition(conditions, { type, status: 'True', reason: 'R', message: 'm' }, 1, t0);
    }
    expect(conditions.map((c) => c.type)).toEqual(['DatabaseReady', 'RoutesReady', 'Ready']);
  });
});

describe('readyCondition', () => {
  const allTrue = (['DatabaseReady', 'MigrationsApplied', 'TopicsReady', 'RoutesReady'] as const).reduce<
    Condition[]
  >(
    (acc, type) => setCondition(acc, { type, status: 'True', reason: 'Reconciled', message: 'ok' }, 1, t0),
    [],
  );

  test('is True only when every step is True', () => {
    expect(readyCondition(allTrue, false)).toMatchObject({ status: 'True', reason: 'Provisioned' });
  });

  test('carries the first failing step reason', () => {
    const conditions = setCondition(
      allTrue,
      { type: 'RoutesReady', status: 'False', reason: 'DomainConflict', message: 'x' },
      1,
      t0,
    );
    expect(readyCondition(conditions, false)).toMatchObject({
      status: 'False',
      reason: 'DomainConflict',
      message: 'RoutesReady: x',
    });
  });

  test('a missing step is Unknown, and suspension wins over everything', () => {
    expect(readyCondition([], false).status).toBe('Unknown');
    expect(readyCondition(allTrue, true)).toMatchObject({ status: 'False', reason: 'Suspended' });
  });
});
