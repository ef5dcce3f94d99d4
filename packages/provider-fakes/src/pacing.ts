/**
 * Emits `count` tokens at `tokensPerSecond`, token i being due (i + 1) / rate seconds after the start.
 * Due tokens are emitted together, so a very high rate costs one timer tick, not one per token.
 * Resolves false when the signal aborted first (the client went away, or the server is closing).
 */
export async function emitPaced(
  count: number,
  tokensPerSecond: number,
  signal: AbortSignal,
  emit: (index: number) => void,
): Promise<boolean> {
  const start = performance.now();
  let next = 0;
  while (next < count) {
    if (signal.aborted) return false;
    const elapsedSeconds = (performance.now() - start) / 1000;
    const due = Math.min(count, Math.floor(elapsedSeconds * tokensPerSecond));
    for (; next < due; next += 1) emit(next);
    if (next >= count) break;
    await sleep(((next + 1) / tokensPerSecond - elapsedSeconds) * 1000, signal);
  }
  return !signal.aborted;
}

/** Waits `ms`, or less if the signal aborts; never rejects. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener('abort', done, { once: true });
  });
}

export function untilAborted(signal: AbortSignal): Promise<void> {
  return sleep(2 ** 31 - 1, signal).then(() => (signal.aborted ? undefined : untilAborted(signal)));
}
