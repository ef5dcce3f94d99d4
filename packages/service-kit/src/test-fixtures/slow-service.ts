// A service process for run-service.test.ts: `GET /slow` answers after SLOW_MS, and the process
// shuts down through runService when signalled.
import { setTimeout as sleep } from 'node:timers/promises';
import { buildService } from '../build-service.ts';
import { runService } from '../run-service.ts';

const slowMs = Number(process.env.SLOW_MS);
const shutdownTimeoutMs = Number(process.env.SHUTDOWN_TIMEOUT_MS);

const app = await buildService({
  name: 'slow',
  config: {},
  routes: async (routes) => {
    routes.get('/slow', async () => {
      await sleep(slowMs);
      return { done: true };
    });
  },
});
await runService(app, { port: 0, host: '127.0.0.1', shutdownTimeoutMs });
