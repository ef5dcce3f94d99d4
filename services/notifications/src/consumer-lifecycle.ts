import { setTimeout as sleep } from 'node:timers/promises';
import type { EventConsumer } from '@tenantry/events';
import type { Logger } from '@tenantry/logger';

/*
 * The same lifecycle as the users service's (services/users/src/profile-events.ts): it belongs in
 * @tenantry/events beside createEventConsumer, where both services would import it from.
 */

const START_RETRY_MS = 1_000;
const MAX_START_RETRY_MS = 30_000;

/**
 * Starts `consumer` in the background, retrying with backoff while Kafka cannot be reached: the API
 * serves without it (profiles are also created on first request), and /health reports Kafka down
 * meanwhile. `stop` ends the retries, or stops the consumer once it started.
 */
export function keepConsumerRunning(consumer: EventConsumer, logger: Logger): { stop(): Promise<void> } {
  const stopping = new AbortController();
  let started = false;
  const starting = (async () => {
    for (let attempt = 0; !stopping.signal.aborted; attempt++) {
      try {
        await consumer.start();
        started = true;
        return;
      } catch (error) {
        const retryInMs = Math.min(START_RETRY_MS * 2 ** attempt, MAX_START_RETRY_MS);
        logger.warn(
          { err: error, retryInMs },
          `starting the notifications events consumer failed, retrying: ${error instanceof Error ? error.message : String(error)}`,
        );
        await sleep(retryInMs, undefined, { signal: stopping.signal }).catch(() => {});
      }
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await starting;
      if (started) await consumer.stop();
    },
  };
}
