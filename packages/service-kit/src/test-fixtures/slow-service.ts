// A service process for graceful-shutdown.test.ts: `node slow-service.ts <slowMs> <shutdownTimeoutMs>`.
// `GET /slow` answers after slowMs; the process runs, and is closed on a signal, through runProgram.
import { setTimeout as sleep } from 'node:timers/promises';
import { buildService } from '../build-service.ts';
import { runProgram } from '../run-program.ts';

const [slowMs, shutdownTimeoutMs] = process.argv.slice(2).map(Number);
if (!Number.isInteger(slowMs) || !Number.isInteger(shutdownTimeoutMs)) {
  throw new Error('usage: slow-service.ts <slowMs> <shutdownTimeoutMs>');
}

await runProgram(
  {
    name: 'slow',
    loadConfig: () => ({}),
    logLevel: () => 'info',
    otlpEndpoint: () => undefined,
    async start({ logger }) {
      const app = await buildService({
        name: 'slow',
        config: {},
        logger,
        routes: async (routes) => {
          routes.get('/slow', async () => {
            await sleep(slowMs);
            return { done: true };
          });
        },
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      return { close: () => app.close() };
    },
  },
  { shutdownTimeoutMs },
);
