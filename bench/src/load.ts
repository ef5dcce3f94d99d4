import { setTimeout as sleep } from 'node:timers/promises';

/** Load generators shared by the benchmarks: the same code drives a system and its baseline. */
export interface LoadResult {
  /** Latencies in ms of the operations that succeeded. */
  latencies: number[];
  errors: number;
  /** The first error seen, to report what failed. */
  firstError?: string;
  elapsedMs: number;
}

/**
 * Open loop at a fixed rate: operation i is due at start + i / rate whether or not earlier ones have
 * finished, and its latency counts from when it was due. A stalled system therefore shows its stall
 * in the latencies instead of silently lowering the rate (no coordinated omission).
 */
export async function fixedRate(
  rate: number,
  durationMs: number,
  operation: () => Promise<unknown>,
): Promise<LoadResult> {
  const result: LoadResult = { latencies: [], errors: 0, elapsedMs: 0 };
  const total = Math.floor((rate * durationMs) / 1000);
  const start = performance.now();
  const running: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    // Sent early (by up to a timer's granularity, about 1 ms): the latency then counts from the
    // actual send, not from a due time still ahead, which would make short latencies look shorter
    // (even negative). Sent late: from when it was due, as above.
    running.push(timed(Math.min(due, performance.now()), operation, result));
  }
  await Promise.all(running);
  result.elapsedMs = performance.now() - start;
  return result;
}

/** Closed loop: `concurrency` workers issue operations back to back for `durationMs` (maximum throughput). */
export async function closedLoop(
  concurrency: number,
  durationMs: number,
  operation: () => Promise<unknown>,
): Promise<LoadResult & { perSecond: number }> {
  const result: LoadResult = { latencies: [], errors: 0, elapsedMs: 0 };
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) await timed(performance.now(), operation, result);
    }),
  );
  result.elapsedMs = performance.now() - start;
  return { ...result, perSecond: (result.latencies.length * 1000) / result.elapsedMs };
}

async function timed(from: number, operation: () => Promise<unknown>, result: LoadResult): Promise<void> {
  try {
    await operation();
    result.latencies.push(performance.now() - from);
  } catch (error) {
    result.errors += 1;
    result.firstError ??= error instanceof Error ? error.message : String(error);
  }
}
