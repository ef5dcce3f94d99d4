// A service process for run-service.test.ts: `node slow-service.ts <slowMs> <shutdownTimeoutMs>`.
// `GET /slow` answers after slowMs, and the process shuts down through runService when signalled.
import { setTimeout as sleep } from 'node:timers/promises';
import { buildService } from '../build-service.ts';
import { runService } from '../run-service.ts';

const [slowMs, shutdownTimeoutMs] = process.argv.slice(2).map(Number);
if (!Number.isInteger(slowMs) || !Number.isInteger(shutdownTimeoutMs)) {
  throw new Error('usage: slow-service.ts <slowMs> <shutdownTimeoutMs>');
}

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
