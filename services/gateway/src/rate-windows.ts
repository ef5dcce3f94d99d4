/**
 * Request counters in fixed windows (as @fastify/rate-limit's local store counts), one per key, the
 * least recently used dropped first past `capacity`. The gateway keeps several per request (tenant,
 * user, client address, anonymous budget); that plugin runs one limit per request and scope, so
 * these are counted here.
 */
export interface WindowCount {
  /** Requests counted in the current window, this one included. */
  count: number;
  /** When the window ends (epoch ms). */
  resetAt: number;
}

export class RateWindows {
  readonly #windows = new Map<string, WindowCount>();
  readonly #windowMs: number;
  readonly #capacity: number;

  constructor(options: { windowMs: number; capacity: number }) {
    this.#windowMs = options.windowMs;
    this.#capacity = options.capacity;
  }

  /** Counts one request of `key`. */
  hit(key: string, now = Date.now()): WindowCount {
    const current = this.#windows.get(key);
    // Re-inserted on every hit, so the Map's order is least recently used first.
    this.#windows.delete(key);
    const window =
      current && current.resetAt > now
        ? { count: current.count + 1, resetAt: current.resetAt }
        : { count: 1, resetAt: now + this.#windowMs };
    this.#windows.set(key, window);
    if (this.#windows.size > this.#capacity) {
      const oldest = this.#windows.keys().next();
      if (!oldest.done) this.#windows.delete(oldest.value);
    }
    return window;
  }
}
