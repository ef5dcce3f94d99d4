import type { ServerResponse } from 'node:http';
import { VENDORS, type Vendor } from './catalogue.ts';

export interface FakeStats {
  /** Every request that reached a vendor's routes, errors included. */
  requests: Record<Vendor, number>;
  /** Generations delivered in full (a whole stream, or a non-streamed body). */
  completed: Record<Vendor, number>;
  /** Faults injected, keyed `vendor:fault` (e.g. `openai:rate-limit`). */
  faults: Record<string, number>;
  /** Generations the client abandoned before the fake finished them. */
  aborted: number;
  abortedByVendor: Record<Vendor, number>;
  /** Generations in progress now (streams included). */
  inFlight: number;
}

function perVendor(): Record<Vendor, number> {
  return Object.fromEntries(VENDORS.map((v) => [v, 0])) as Record<Vendor, number>;
}

/**
 * A generation in progress. Its signal aborts when the connection closes for any reason; only a close
 * the fake did not cause counts as a client abort, which is what the chat service's tests observe to
 * prove that a disconnecting user cancels the provider call.
 */
export class Exchange {
  readonly #controller = new AbortController();
  #endedByServer = false;

  constructor(
    readonly res: ServerResponse,
    onClientAbort: () => void,
    onClosed: () => void,
  ) {
    // A write racing a client's disconnect must not surface as an unhandled 'error' event.
    res.on('error', () => {});
    res.on('close', () => {
      if (!res.writableEnded && !this.#endedByServer) onClientAbort();
      this.#controller.abort();
      onClosed();
    });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Destroys the connection from the fake's side (a drop fault, or shutdown). */
  destroy(): void {
    this.#endedByServer = true;
    this.res.destroy();
  }
}

export class FakeState {
  readonly #inFlight = new Set<Exchange>();
  /** Prompts whose `-once` fault fired last time; the next attempt passes and clears the mark. */
  readonly #onceFired = new Set<string>();
  #stats = this.#emptyStats();

  constructor(readonly defaults: { tokensPerSecond: number; apiKeys: ReadonlySet<string> | undefined }) {}

  countRequest(vendor: Vendor): void {
    this.#stats.requests[vendor] += 1;
  }

  countFault(vendor: Vendor, fault: string): void {
    const key = `${vendor}:${fault}`;
    this.#stats.faults[key] = (this.#stats.faults[key] ?? 0) + 1;
  }

  countCompleted(vendor: Vendor): void {
    this.#stats.completed[vendor] += 1;
  }

  /**
   * Whether a `-once` fault fires for this attempt. It alternates per key, so every first attempt
   * fails and its retry succeeds, also when the same test runs again against a long-lived fake.
   */
  onceFires(key: string): boolean {
    if (this.#onceFired.delete(key)) return false;
    this.#onceFired.add(key);
    return true;
  }

  begin(vendor: Vendor, res: ServerResponse): Exchange {
    const exchange = new Exchange(
      res,
      () => {
        this.#stats.aborted += 1;
        this.#stats.abortedByVendor[vendor] += 1;
      },
      () => this.#inFlight.delete(exchange),
    );
    this.#inFlight.add(exchange);
    return exchange;
  }

  /** Ends every generation in progress (never-ending streams included), as a shutting-down server. */
  endAll(): void {
    for (const exchange of this.#inFlight) exchange.destroy();
  }

  stats(): FakeStats {
    const s = this.#stats;
    return {
      requests: { ...s.requests },
      completed: { ...s.completed },
      faults: { ...s.faults },
      aborted: s.aborted,
      abortedByVendor: { ...s.abortedByVendor },
      inFlight: this.#inFlight.size,
    };
  }

  reset(): void {
    this.#stats = this.#emptyStats();
    this.#onceFired.clear();
  }

  #emptyStats(): FakeStats {
    return {
      requests: perVendor(),
      completed: perVendor(),
      faults: {},
      aborted: 0,
      abortedByVendor: perVendor(),
      inFlight: 0,
    };
  }
}
