import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@tenantry/logger';
import type { Ingester } from './ingester.ts';

const START_RETRY_MS = 1_000;
const MAX_START_RETRY_MS = 30_000;

/**
 * Starts the ingester in the background, retrying with backoff while Kafka cannot be reached: the API
 * answers from what is stored meanwhile, and /health reports Kafka down. `stop` ends the retries, or
 * stops the ingester once it started.
 */
export function keepIngesterRunning(ingester: Ingester, logger: Logger): { stop(): Promise<void> } {
  const stopping = new AbortController();
  let started = false;
  const starting = (async () => {
    for (let attempt = 0; !stopping.signal.aborted; attempt++) {
      try {
        await ingester.start();
        started = true;
        return;
      } catch (error) {
        const retryInMs = Math.min(START_RETRY_MS * 2 ** attempt, MAX_START_RETRY_MS);
        logger.warn(
          { err: error, retryInMs },
          `starting the event ingester failed, retrying: ${error instanceof Error ? error.message : String(error)}`,
        );
        await sleep(retryInMs, undefined, { signal: stopping.signal }).catch(() => {});
      }
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await starting;
      if (started) await ingester.stop();
    },
  };
}
