import {
  ApiException,
  CoordinationV1Api,
  type KubeConfig,
  type V1Lease,
  type V1LeaseSpec,
  V1MicroTime,
} from '@kubernetes/client-node';

/** pino-compatible. */
export interface LeaderElectionLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface LeaderElectionOptions {
  kc: KubeConfig;
  namespace: string;
  name: string;
  /** Unique per replica (the pod name). */
  identity: string;
  /** How long a lease stays valid after its last renewal; others take it over after that. */
  leaseDurationSeconds?: number;
  /** The leader gives up when it has not renewed for this long; must be shorter than the lease. */
  renewDeadlineMs?: number;
  /** Interval between attempts to acquire or renew. */
  retryPeriodMs?: number;
  /** Called, not awaited, when this replica becomes leader; a rejection is logged. */
  onStartedLeading(): void | Promise<void>;
  /**
   * Called when leadership is lost (not renewed within renewDeadlineMs, or another replica holds the
   * lease). The elector is finished then; the caller must stop working at once (the operator exits so
   * Kubernetes restarts it). Not called by `stop()`.
   */
  onStoppedLeading(): void;
  logger?: LeaderElectionLogger;
}

export const DEFAULT_LEASE_DURATION_SECONDS = 15;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;

type Attempt =
  /** The lease is ours, renewed at `renewedAt` (our clock, the time written as renewTime). */
  | { kind: 'held'; renewedAt: number }
  /** Another identity holds a valid lease. */
  | { kind: 'held-by-other'; holder: string }
  /** We lost a write race (409); the next attempt reads again. */
  | { kind: 'conflict' };

/**
 * Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection.
 *
 * Safety rests on renewDeadline < leaseDuration: others may take the lease only `leaseDuration`
 * after our last successful renewal, and by then we have given up (after `renewDeadline`). Expiry
 * compares the holder's renewTime with our clock, so replicas' clocks must agree to well within
 * `leaseDuration - renewDeadline` (NTP does that).
 */
export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly leaseDurationSeconds: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private leading = false;
  private running = false;
  private renewedAt = 0;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly opts: LeaderElectionOptions) {
    this.leaseDurationSeconds = opts.leaseDurationSeconds ?? DEFAULT_LEASE_DURATION_SECONDS;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
    this.retryPeriodMs = opts.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
    if (!Number.isInteger(this.leaseDurationSeconds) || this.leaseDurationSeconds < 1) {
      throw new Error(
        `LeaderElector: leaseDurationSeconds must be an integer >= 1, got ${this.leaseDurationSeconds}`,
      );
    }
    if (!(this.renewDeadlineMs < this.leaseDurationSeconds * 1000)) {
      throw new Error(
        `LeaderElector: renewDeadlineMs (${this.renewDeadlineMs}) must be less than leaseDurationSeconds (${this.leaseDurationSeconds}) in ms`,
      );
    }
    if (!(this.retryPeriodMs > 0 && this.retryPeriodMs < this.renewDeadlineMs)) {
      throw new Error(
        `LeaderElector: retryPeriodMs (${this.retryPeriodMs}) must be > 0 and less than renewDeadlineMs (${this.renewDeadlineMs})`,
      );
    }
    if (!opts.identity) throw new Error('LeaderElector: identity must not be empty');
    this.api = opts.kc.makeApiClient(CoordinationV1Api);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Starts campaigning; an elector runs once (after `stop` or a loss, make a new one). */
  start(): void {
    if (this.loop) return;
    this.running = true;
    this.loop = this.run();
  }

  /**
   * Stops campaigning and, if leading, releases the lease so another replica takes over at its next
   * attempt instead of after expiry. Call it after the work guarded by the lease has stopped. A failed
   * release is logged, not thrown: the lease then simply expires.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    if (!this.leading) return;
    this.leading = false;
    try {
      await withTimeout(this.release(), this.renewDeadlineMs, `releasing lease ${this.leaseRef}`);
      this.opts.logger?.info(this.fields, 'released leader lease');
    } catch (error) {
      this.opts.logger?.warn(
        { ...this.fields, err: error },
        'could not release leader lease; it will expire',
      );
    }
  }

  private get leaseRef(): string {
    return `${this.opts.namespace}/${this.opts.name}`;
  }

  private get fields(): object {
    return { lease: this.leaseRef, identity: this.opts.identity };
  }

  private async run(): Promise<void> {
    while (this.running) {
      await this.tick();
      if (this.running) await this.sleep(this.retryPeriodMs);
    }
  }

  private async tick(): Promise<void> {
    // A leader's attempt must not outlive its deadline: a hung request would otherwise keep it leading
    // after others may have taken over.
    const timeoutMs = this.leading
      ? Math.max(this.renewedAt + this.renewDeadlineMs - Date.now(), 1)
      : this.renewDeadlineMs;
    let attempt: Attempt;
    try {
      attempt = await withTimeout(
        this.tryAcquireOrRenew(),
        timeoutMs,
        `acquiring or renewing lease ${this.leaseRef}`,
      );
    } catch (error) {
      this.opts.logger?.warn({ ...this.fields, err: error }, 'leader election attempt failed');
      attempt = { kind: 'conflict' };
    }
    if (attempt.kind === 'held') {
      this.renewedAt = attempt.renewedAt;
      if (!this.leading) {
        // Set even when stopping, so that stop() releases what this attempt just acquired.
        this.leading = true;
        if (this.running) this.startLeading();
      }
      return;
    }
    if (!this.leading) return;
    if (attempt.kind === 'held-by-other') {
      this.loseLeadership(`lease is now held by ${attempt.holder}`);
    } else if (Date.now() - this.renewedAt >= this.renewDeadlineMs) {
      this.loseLeadership(`not renewed within renewDeadlineMs (${this.renewDeadlineMs})`);
    }
  }

  private startLeading(): void {
    this.opts.logger?.info(this.fields, 'became leader');
    Promise.resolve()
      .then(() => this.opts.onStartedLeading())
      .catch((error: unknown) =>
        this.opts.logger?.warn({ ...this.fields, err: error }, 'onStartedLeading failed'),
      );
  }

  private loseLeadership(reason: string): void {
    this.leading = false;
    this.running = false;
    this.opts.logger?.warn({ ...this.fields, reason }, 'lost leadership');
    try {
      this.opts.onStoppedLeading();
    } catch (error) {
      this.opts.logger?.warn({ ...this.fields, err: error }, 'onStoppedLeading failed');
    }
  }

  private async tryAcquireOrRenew(): Promise<Attempt> {
    const { namespace, name, identity } = this.opts;
    const now = Date.now();
    const stamp = new V1MicroTime(now);
    const lease = await this.readLease();
    if (!lease) {
      const body: V1Lease = {
        metadata: { name, namespace },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: this.leaseDurationSeconds,
          acquireTime: stamp,
          renewTime: stamp,
          leaseTransitions: 0,
        },
      };
      return this.write(() => this.api.createNamespacedLease({ namespace, body }), now, 'creating');
    }
    const spec: V1LeaseSpec = lease.spec ?? {};
    const ours = spec.holderIdentity === identity;
    const holder = this.validHolder(spec, now);
    if (holder && !ours) return { kind: 'held-by-other', holder };
    const body: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: this.leaseDurationSeconds,
        // Times arrive as strings in this client version and must leave as V1MicroTime (6 digits).
        acquireTime: ours && spec.acquireTime ? new V1MicroTime(spec.acquireTime) : stamp,
        renewTime: stamp,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (ours ? 0 : 1),
      },
    };
    // body carries the resourceVersion read above: a concurrent writer makes this a 409.
    return this.write(() => this.api.replaceNamespacedLease({ namespace, name, body }), now, 'updating');
  }

  /** The identity holding an unexpired lease; none when it is free, released or expired. */
  private validHolder(spec: V1LeaseSpec, now: number): string | undefined {
    if (!spec.holderIdentity) return undefined;
    const renewedAt = new Date(spec.renewTime ?? spec.acquireTime ?? 0).getTime();
    const durationMs = (spec.leaseDurationSeconds ?? this.leaseDurationSeconds) * 1000;
    return renewedAt + durationMs >= now ? spec.holderIdentity : undefined;
  }

  private async readLease(): Promise<V1Lease | undefined> {
    const { namespace, name } = this.opts;
    try {
      return await this.api.readNamespacedLease({ namespace, name });
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw contextError(`reading lease ${this.leaseRef}`, error);
    }
  }

  /** Creates or replaces the lease as ours; a 409 means another replica wrote first. */
  private async write(request: () => Promise<V1Lease>, renewedAt: number, doing: string): Promise<Attempt> {
    try {
      await request();
      return { kind: 'held', renewedAt };
    } catch (error) {
      if (error instanceof ApiException && error.code === 409) return { kind: 'conflict' };
      throw contextError(`${doing} lease ${this.leaseRef}`, error);
    }
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    const lease = await this.readLease();
    if (!lease || lease.spec?.holderIdentity !== identity) return;
    const now = new V1MicroTime();
    // Like client-go: an empty holder is free at once; duration 1 s also frees it for electors that
    // only look at expiry.
    const spec: V1LeaseSpec = {
      ...lease.spec,
      holderIdentity: '',
      leaseDurationSeconds: 1,
      renewTime: now,
      acquireTime: now,
    };
    try {
      await this.api.replaceNamespacedLease({ namespace, name, body: { ...lease, spec } });
    } catch (error) {
      throw contextError(`releasing lease ${this.leaseRef}`, error);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function contextError(doing: string, error: unknown): Error {
  let detail = error instanceof Error ? error.message : String(error);
  if (error instanceof ApiException) {
    // The generated message embeds the whole response; the Status message is what matters.
    const body: unknown = typeof error.body === 'string' ? safeParse(error.body) : error.body;
    const message = (body as { message?: unknown } | undefined)?.message;
    detail = `HTTP ${error.code}${typeof message === 'string' ? `: ${message}` : ''}`;
  }
  return new Error(`while ${doing}: ${detail}`, { cause: error });
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, doing: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`while ${doing}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
