import {
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
  makeInformer,
} from '@kubernetes/client-node';
import type { Logger } from './logger.ts';

/**
 * Follows a collection of Kubernetes objects with a list+watch informer. client-node informers stop on
 * any error (a restarted API server, a fresh one answering 429 while its watch cache initialises, a
 * missing RBAC rule); this one restarts with a capped exponential backoff. After a restart the
 * informer resumes from its last resourceVersion, or lists again when that is too old (410), reporting
 * objects deleted in the meantime as deletions.
 */
export interface ResourceHandlers<T extends KubernetesObject> {
  /** An object appeared or changed (also for every object of the initial list). */
  upsert(object: T): void;
  deleted(object: T): void;
}

export interface ResourceWatch {
  stop(): Promise<void>;
}

export interface ResourceWatchOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  /** The collection's API path, e.g. `/apis/networking.k8s.io/v1/namespaces/tenantry-system/ingresses`. */
  path: string;
  /** Lists the collection (with the same label selector): the informer's initial and re-lists. */
  list: ListPromise<T>;
  labelSelector?: string;
  handlers: ResourceHandlers<T>;
  /** What is watched, for log lines: "tenant Secret" logs "tenant Secret watch failed; restarting". */
  description: string;
  logger?: Logger;
  /** Told of every failure before the restart (a program counts them, e.g. refusals by RBAC). */
  onError?: (error: unknown) => void;
  /** Gives up: before the first sync, watchResources then rejects with the signal's reason. */
  signal?: AbortSignal;
}

const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 10_000;

/** The API server's own message (from the Status body) rather than the client's generic one. */
function kubeReason(error: unknown): string {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      // not JSON: the error's own message below
    }
  }
  return error instanceof Error ? error.message : String(error);
}

/** Resolves once the collection has been listed and the watch is established (retrying until then). */
export async function watchResources<T extends KubernetesObject>(
  options: ResourceWatchOptions<T>,
): Promise<ResourceWatch> {
  const { handlers, logger, path, description } = options;
  const informer = makeInformer<T>(options.kc, path, options.list, options.labelSelector);
  informer.on('add', handlers.upsert);
  informer.on('update', handlers.upsert);
  informer.on('delete', handlers.deleted);

  let stopped = false;
  let failures = 0;
  let errors = 0;
  let restart: NodeJS.Timeout | undefined;
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => {
    markSynced = resolve;
  });

  const onError = (error: unknown) => {
    errors += 1;
    if (stopped) return;
    failures += 1;
    options.onError?.(error);
    const retryInMs = Math.min(RESTART_MIN_MS * 2 ** (failures - 1), RESTART_MAX_MS);
    logger?.warn({ path, reason: kubeReason(error), retryInMs }, `${description} watch failed; restarting`);
    clearTimeout(restart);
    restart = setTimeout(() => void run(), retryInMs);
  };
  informer.on('error', onError);

  // start() resolves (it does not reject) when the list or the watch request fails: it reports the
  // failure as an error event. An attempt without one has listed and is watching.
  async function run(): Promise<void> {
    const errorsBefore = errors;
    try {
      await informer.start();
    } catch (error) {
      onError(error);
      return;
    }
    if (errors === errorsBefore && !stopped) {
      failures = 0;
      markSynced();
    }
  }

  const stop = async () => {
    stopped = true;
    clearTimeout(restart);
    await informer.stop();
  };
  const { signal } = options;
  const aborted = new Promise<never>((_, reject) => {
    const abort = () => {
      void stop();
      reject(signal?.reason ?? new Error(`${description} watch abandoned`));
    };
    if (signal?.aborted) abort();
    else signal?.addEventListener('abort', abort, { once: true });
  });
  // Only a rejection of this one is of interest, and only while waiting for the first sync.
  aborted.catch(() => {});
  await Promise.race([run().then(() => synced), aborted]);
  return { stop };
}
