import { describe, expect, test } from 'vitest';
import { RateWindows } from './rate-windows.ts';

describe('RateWindows', () => {
  test('counts per key within a window and starts again after it', () => {
    const windows = new RateWindows({ windowMs: 1000, capacity: 10 });
    expect(windows.hit('a', 0)).toEqual({ count: 1, resetAt: 1000 });
    expect(windows.hit('a', 500).count).toBe(2);
    expect(windows.hit('b', 500).count).toBe(1);
    expect(windows.hit('a', 1000)).toEqual({ count: 1, resetAt: 2000 });
  });

  test('past its capacity it forgets the least recently used key', () => {
    const windows = new RateWindows({ windowMs: 1000, capacity: 2 });
    windows.hit('a', 0);
    windows.hit('b', 0);
    windows.hit('a', 1);
    windows.hit('c', 2); // evicts b, the least recently used
    expect(windows.hit('a', 3).count).toBe(3);
    expect(windows.hit('b', 3).count).toBe(1);
  });
});
