/** What a handler returns: `requeueAfterMs` asks for the key to be processed again later. */
// biome-ignore lint/suspicious/noConfusingVoidType: lets handlers that return nothing (Promise<void>) be passed as they are
export type ReconcileOutcome = { requeueAfterMs?: number } | undefined | void;

export interface WorkQueueOptions {
  /** Different keys processed at once. */
  concurrency: number;
  /** First retry delay after a failure (default 200 ms); doubles with each further failure. */
  baseDelayMs?: number;
  /** Upper bound of the retry delay (default 60 s). */
  maxDelayMs?: number;
}

/** Observers of the queue (logs, metrics). They run after the queue's own bookkeeping and must not throw. */
export interface WorkQueueHooks {
  onError?(key: string, error: unknown, failures: number, retryInMs: number): void;
  onDone?(key: string, ms: number): void;
}

export const DEFAULT_BASE_DELAY_MS = 200;
export const DEFAULT_MAX_DELAY_MS = 60_000;
/** Retry delays get up to this fraction added at random, so keys that failed together spread out. */
const JITTER_FRACTION = 0.1;

type HandlerResult = { ok: true; outcome: ReconcileOutcome; ms: number } | { ok: false; error: unknown };

/**
 * A keyed, de-duplicating work queue in the manner of client-go's workqueue.
 *
 * Invariants:
 * - a key is in at most one of `waiting` and `processing`; a key added while processing goes to
 *   `dirty` and is queued again when its handler finishes, so one key never runs twice at once;
 * - a key has at most one pending timer, and the earliest due time wins (`add` is "due now");
 * - after `shutdown` nothing is queued and no handler starts.
 */
export class WorkQueue {
  /** Insertion-ordered, so it is both the FIFO and the de-duplication set. */
  private readonly waiting = new Set<string>();
  private readonly processing = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { dueAt: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly concurrency: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private started = false;
  private shuttingDown = false;

  constructor(
    private readonly handler: (key: string) => Promise<ReconcileOutcome>,
    options: WorkQueueOptions,
    private readonly hooks: WorkQueueHooks = {},
  ) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new Error(`WorkQueue: concurrency must be a positive integer, got ${options.concurrency}`);
    }
    this.concurrency = options.concurrency;
    this.baseDelayMs = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    if (!(this.baseDelayMs > 0) || this.maxDelayMs < this.baseDelayMs) {
      throw new Error(
        `WorkQueue: baseDelayMs must be > 0 and maxDelayMs >= baseDelayMs, got ${this.baseDelayMs} and ${this.maxDelayMs}`,
      );
    }
  }

  /** Keys waiting to be processed (not counting scheduled or in-flight ones). */
  get length(): number {
    return this.waiting.size;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    // Processing now supersedes a later schedule: the handler's outcome decides the next one.
    this.cancelTimer(key);
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.waiting.add(key);
    this.pump();
  }

  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    if (this.waiting.has(key)) return;
    const dueAt = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.dueAt <= dueAt) return;
    this.cancelTimer(key);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    this.timers.set(key, { dueAt, timer });
  }

  start(): void {
    this.started = true;
    this.pump();
  }

  /** Stops taking work, cancels timers and resolves once every in-flight handler has finished. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.waiting.clear();
    this.dirty.clear();
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(this.processing.values());
  }

  private pump(): void {
    while (this.started && !this.shuttingDown && this.processing.size < this.concurrency) {
      const next = this.waiting.values().next();
      if (next.done) return;
      const key = next.value;
      this.waiting.delete(key);
      // `finish` runs in a later microtask, so it always sees this entry, even for a handler that throws
      // synchronously.
      this.processing.set(
        key,
        this.run(key).then((result) => this.finish(key, result)),
      );
    }
  }

  private async run(key: string): Promise<HandlerResult> {
    const startedAt = performance.now();
    try {
      const outcome = await this.handler(key);
      return { ok: true, outcome, ms: performance.now() - startedAt };
    } catch (error) {
      return { ok: false, error };
    }
  }

  private finish(key: string, result: HandlerResult): void {
    this.processing.delete(key);
    if (result.ok) {
      this.failures.delete(key);
      const requeueAfterMs = result.outcome?.requeueAfterMs;
      if (requeueAfterMs !== undefined) this.addAfter(key, requeueAfterMs);
      this.afterProcessing(key);
      this.hooks.onDone?.(key, result.ms);
    } else {
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      const retryInMs = this.retryDelay(failures);
      this.addAfter(key, retryInMs);
      this.afterProcessing(key);
      this.hooks.onError?.(key, result.error, failures, retryInMs);
    }
  }

  private afterProcessing(key: string): void {
    if (this.dirty.delete(key)) this.add(key);
    this.pump();
  }

  /** `min(base * 2^(failures-1), max)` plus jitter. */
  private retryDelay(failures: number): number {
    const delay = Math.min(this.baseDelayMs * 2 ** (failures - 1), this.maxDelayMs);
    return Math.round(delay * (1 + Math.random() * JITTER_FRACTION));
  }

  private cancelTimer(key: string): void {
    const pending = this.timers.get(key);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.timers.delete(key);
  }
}
