import { afterEach, describe, expect, test, vi } from 'vitest';
import { type ReconcileOutcome, WorkQueue } from './work-queue.ts';

interface Gate {
  promise: Promise<void>;
  open(): void;
}

function gate(): Gate {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Runs every pending promise callback: setImmediate fires only after the microtask queue is empty. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Fake only the clock and timeouts, so `settle` keeps working. */
function useFakeClock(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
}

/** A handler that records calls and concurrency, and blocks each call until the test opens its gate. */
function gatedHandler() {
  const calls: string[] = [];
  const gates: Gate[] = [];
  const active = new Map<string, number>();
  let maxActive = 0;
  let maxActivePerKey = 0;
  const handler = async (key: string): Promise<ReconcileOutcome> => {
    calls.push(key);
    const count = (active.get(key) ?? 0) + 1;
    active.set(key, count);
    maxActivePerKey = Math.max(maxActivePerKey, count);
    maxActive = Math.max(
      maxActive,
      [...active.values()].reduce((a, b) => a + b, 0),
    );
    const g = gate();
    gates.push(g);
    await g.promise;
    active.set(key, (active.get(key) ?? 1) - 1);
  };
  return {
    handler,
    calls,
    openNext: async () => {
      const g = gates.shift();
      if (!g) throw new Error('no handler call is waiting');
      g.open();
      await settle();
    },
    get maxActive() {
      return maxActive;
    },
    get maxActivePerKey() {
      return maxActivePerKey;
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('WorkQueue', () => {
  test('processes up to `concurrency` different keys at once, in FIFO order, each once', async () => {
    const h = gatedHandler();
    const queue = new WorkQueue(h.handler, { concurrency: 2 });
    for (const key of ['a', 'b', 'c', 'd', 'e']) queue.add(key);
    queue.start();
    await settle();
    expect(h.calls).toEqual(['a', 'b']);
    expect(queue.inFlight).toBe(2);
    expect(queue.length).toBe(3);

    await h.openNext();
    expect(h.calls).toEqual(['a', 'b', 'c']);
    for (let i = 0; i < 4; i++) await h.openNext();
    expect(h.calls).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(h.maxActive).toBe(2);
    expect(queue.inFlight).toBe(0);
    expect(queue.length).toBe(0);
  });

  test('never processes one key twice at once: a key added while in flight runs once more right after', async () => {
    const h = gatedHandler();
    const queue = new WorkQueue(h.handler, { concurrency: 4 });
    queue.start();
    queue.add('a');
    await settle();
    for (let i = 0; i < 3; i++) queue.add('a');
    await settle();
    expect(h.calls).toEqual(['a']);
    expect(queue.inFlight).toBe(1);
    expect(queue.length).toBe(0);

    await h.openNext();
    expect(h.calls).toEqual(['a', 'a']);
    await h.openNext();
    expect(h.calls).toEqual(['a', 'a']);
    expect(h.maxActivePerKey).toBe(1);
    expect(queue.inFlight).toBe(0);
  });

  test('de-duplicates waiting keys', async () => {
    const h = gatedHandler();
    const queue = new WorkQueue(h.handler, { concurrency: 1 });
    for (let i = 0; i < 100; i++) queue.add('a');
    queue.add('b');
    expect(queue.length).toBe(2);
    queue.start();
    await settle();
    // 'b' waits behind 'a', and adding it again does not duplicate it.
    for (let i = 0; i < 100; i++) queue.add('b');
    expect(queue.length).toBe(1);
    await h.openNext();
    await h.openNext();
    expect(h.calls).toEqual(['a', 'b']);
  });

  test('retries a failing key with capped exponential backoff and resets the count on success', async () => {
    useFakeClock();
    let failing = true;
    let calls = 0;
    const errors: { failures: number; retryInMs: number; message: string }[] = [];
    const done: string[] = [];
    const queue = new WorkQueue(
      async (key) => {
        calls++;
        if (failing) throw new Error(`boom ${key}`);
      },
      { concurrency: 1, baseDelayMs: 100, maxDelayMs: 400 },
      {
        onError: (_key, error, failures, retryInMs) =>
          errors.push({ failures, retryInMs, message: (error as Error).message }),
        onDone: (key) => done.push(key),
      },
    );
    queue.start();
    queue.add('k');
    await settle();

    for (const [i, base] of [100, 200, 400, 400].entries()) {
      const last = errors.at(-1);
      expect(last).toMatchObject({ failures: i + 1, message: 'boom k' });
      const retryInMs = last?.retryInMs ?? Number.NaN;
      expect(retryInMs).toBeGreaterThanOrEqual(base);
      expect(retryInMs).toBeLessThanOrEqual(base * 1.1);
      // Not a moment before the backoff has elapsed...
      await vi.advanceTimersByTimeAsync(retryInMs - 1);
      expect(calls).toBe(i + 1);
      // ...and right when it has.
      await vi.advanceTimersByTimeAsync(1);
      await settle();
      expect(calls).toBe(i + 2);
    }

    // The 5th attempt failed too; let the 6th succeed.
    failing = false;
    await vi.advanceTimersByTimeAsync(errors.at(-1)?.retryInMs ?? 0);
    await settle();
    expect(calls).toBe(6);
    expect(done).toEqual(['k']);

    failing = true;
    queue.add('k');
    await settle();
    expect(errors.at(-1)?.failures).toBe(1);
    expect(errors.at(-1)?.retryInMs).toBeLessThanOrEqual(110);
    await queue.shutdown();
  });

  test('a handler that throws synchronously is retried like any failure', async () => {
    const errors: number[] = [];
    const queue = new WorkQueue(
      () => {
        throw new Error('sync');
      },
      { concurrency: 1, baseDelayMs: 60_000 },
      { onError: (_key, _error, failures) => errors.push(failures) },
    );
    queue.start();
    queue.add('k');
    await settle();
    expect(errors).toEqual([1]);
    expect(queue.inFlight).toBe(0);
    await queue.shutdown();
  });

  test('requeueAfterMs schedules the key again', async () => {
    useFakeClock();
    let calls = 0;
    const queue = new WorkQueue(
      async () => {
        calls++;
        return calls === 1 ? { requeueAfterMs: 1000 } : undefined;
      },
      { concurrency: 1 },
    );
    queue.start();
    queue.add('k');
    await settle();
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(2);
    await queue.shutdown();
  });

  test('addAfter keeps the earliest schedule of a key, and add supersedes a schedule', async () => {
    useFakeClock();
    const calls: string[] = [];
    const queue = new WorkQueue(
      async (key) => {
        calls.push(key);
      },
      { concurrency: 4 },
    );
    queue.start();
    queue.addAfter('later-then-earlier', 1000);
    queue.addAfter('later-then-earlier', 500);
    queue.addAfter('earlier-then-later', 500);
    queue.addAfter('earlier-then-later', 1000);
    queue.addAfter('scheduled-then-added', 1000);
    queue.add('scheduled-then-added');
    await settle();
    expect(calls).toEqual(['scheduled-then-added']);

    await vi.advanceTimersByTimeAsync(499);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(calls.slice(1).sort()).toEqual(['earlier-then-later', 'later-then-earlier']);
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toHaveLength(3);
    await queue.shutdown();
  });

  test('shutdown waits for in-flight handlers, cancels timers and starts no handler afterwards', async () => {
    useFakeClock();
    const h = gatedHandler();
    const queue = new WorkQueue(h.handler, { concurrency: 1 });
    queue.start();
    queue.add('a');
    queue.add('b');
    queue.addAfter('c', 100);
    await settle();
    expect(h.calls).toEqual(['a']);

    let finished = false;
    const stopped = queue.shutdown().then(() => {
      finished = true;
    });
    await settle();
    expect(finished).toBe(false);
    expect(queue.inFlight).toBe(1);

    queue.add('d');
    await h.openNext();
    await stopped;
    expect(finished).toBe(true);
    expect(queue.inFlight).toBe(0);
    expect(queue.length).toBe(0);

    queue.add('e');
    queue.addAfter('f', 10);
    await vi.advanceTimersByTimeAsync(10_000);
    await settle();
    expect(h.calls).toEqual(['a']);
  });

  test('rejects invalid options, naming them', () => {
    const handler = async () => undefined;
    expect(() => new WorkQueue(handler, { concurrency: 0 })).toThrow(/concurrency/);
    expect(() => new WorkQueue(handler, { concurrency: 1, baseDelayMs: 500, maxDelayMs: 100 })).toThrow(
      /maxDelayMs/,
    );
  });
});
