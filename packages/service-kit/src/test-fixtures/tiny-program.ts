import { Type } from '@sinclair/typebox';
import { loadConfig, logLevel, port } from '@tenantry/config';
import { runProgram } from '../run-program.ts';

/** A program for run-program.test.ts: it "starts" per START (ok, fail), and logs when it is closed. */
const schema = Type.Object({
  PORT: port(8080),
  WORKERS: Type.Integer({ minimum: 1, maximum: 8, default: 1 }),
  LOG_LEVEL: logLevel(),
  START: Type.Union([Type.Literal('ok'), Type.Literal('fail')], { default: 'ok' }),
});

await runProgram({
  name: 'tiny',
  loadConfig: () => loadConfig(schema),
  logLevel: (config) => config.LOG_LEVEL,
  otlpEndpoint: () => undefined,
  async start({ config, logger }) {
    if (config.START === 'fail') throw new Error('the database at db:5432 refused the connection');
    // Keeps the process alive until it is closed, as a listening server would.
    const alive = setInterval(() => {}, 60_000);
    logger.info({ workers: config.WORKERS }, 'started');
    return {
      async close() {
        clearInterval(alive);
        logger.info('program closed');
      },
    };
  },
});
