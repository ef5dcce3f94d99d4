import { setTimeout as sleep } from 'node:timers/promises';
import type { EventConsumer } from './consumer.ts';
import type { EventsLogger } from './events-logger.ts';

const START_RETRY_MS = 1_000;
const MAX_START_RETRY_MS = 30_000;

/**
 * Starts `consumer` in the background, retrying with backoff while Kafka cannot be reached: a service
 * serves its API without it, and /health reports Kafka down meanwhile. `stop` ends the retries, or
 * stops the consumer once it started. `what` names it in the log ("the profile events consumer").
 */
export function keepConsumerRunning(
  consumer: Pick<EventConsumer, 'start' | 'stop'>,
  logger: EventsLogger,
  what = 'the events consumer',
): { stop(): Promise<void> } {
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
          `starting ${what} failed, retrying: ${error instanceof Error ? error.message : String(error)}`,
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
