import type { DevstackConfig } from '../config.ts';
import type { Progress } from '../progress.ts';
import type { PortName, StackState } from '../state.ts';

export interface ComponentContext {
  config: DevstackConfig;
  state: StackState;
  progress: Progress;
}

/**
 * One piece of local infrastructure. `provision` fetches or builds what it needs into the cache
 * (idempotent, keyed by version); `start` brings it up unless it is already running and healthy;
 * `stop` leaves none of its processes behind.
 */
export interface LocalComponent {
  name: string;
  /** Ports it listens on; kept across restarts while it runs. */
  ports: PortName[];
  /** Names of the managed processes it starts, in start order. */
  processes: string[];
  provision(ctx: ComponentContext): Promise<void>;
  start(ctx: ComponentContext): Promise<void>;
  healthy(ctx: ComponentContext): Promise<boolean>;
  stop(ctx: ComponentContext): Promise<void>;
}
