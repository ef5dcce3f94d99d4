import { parseArgs } from 'node:util';
import { loadConfig, type Profile } from './config.ts';
import { toShell } from './endpoints.ts';
import { createProgress, formatSeconds } from './progress.ts';
import { down, runningEndpoints, status, up } from './stack.ts';

const usage = `devstack — real PostgreSQL, Kafka, kube-apiserver + etcd, helm, ClickHouse, stripe-mock and
Mailpit (SMTP) on loopback

usage: devstack <command> [--profile dev|test|bench] [--json]

  up       provision (cached) and start everything; prints the endpoints
  down     stop everything (add --purge to delete the stack's data too)
  status   show what is running
  env      print the endpoints as shell lines (eval "$(devstack env)") or JSON (--json)

The stack lives in .devstack/<profile> (TENANTRY_STATE_DIR overrides); the cache in ~/.cache/tenantry
(TENANTRY_CACHE_DIR). TENANTRY_INFRA=containers takes the components from testcontainers instead.`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      profile: { type: 'string', default: 'dev' },
      json: { type: 'boolean', default: false },
      purge: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command] = positionals;
  if (values.help || !command) {
    console.error(usage);
    return command ? 0 : 2;
  }
  if (values.profile !== 'dev' && values.profile !== 'test' && values.profile !== 'bench') {
    console.error(`error: --profile must be "dev", "test" or "bench", got "${values.profile}"`);
    return 2;
  }
  const config = loadConfig(values.profile as Profile);
  const progress = createProgress();
  const out = (text: string) => process.stdout.write(`${text}\n`);

  switch (command) {
    case 'up': {
      if (config.provider === 'containers') {
        console.error(
          'error: containers live only as long as the process that started them; with TENANTRY_INFRA=containers use `npm run up` or `npm test`',
        );
        return 2;
      }
      const started = performance.now();
      const { endpoints } = await up(config, progress);
      if (values.json) out(JSON.stringify(endpoints, null, 2));
      else {
        out(toShell(endpoints));
        progress.info(
          `devstack is up (${formatSeconds(performance.now() - started)}); state in ${config.stateDir}`,
        );
        progress.info(
          'next: eval "$(npm run -s devstack -- env)" to use it from this shell; npm run devstack -- down to stop',
        );
      }
      return 0;
    }
    case 'down':
      await down(config, progress, { purge: values.purge });
      progress.info(
        values.purge
          ? `stopped; removed ${config.stateDir}`
          : 'stopped; data kept (add --purge to delete it)',
      );
      return 0;
    case 'status': {
      const rows = await status(config);
      if (values.json) out(JSON.stringify(rows, null, 2));
      else
        for (const row of rows) {
          const state = row.healthy ? 'healthy' : row.running ? 'running, not ready' : 'stopped';
          out(`${row.name.padEnd(16)} ${state.padEnd(20)} ${row.pids.join(' ')}`);
        }
      return rows.every((row) => row.healthy) ? 0 : 1;
    }
    case 'env': {
      const endpoints = runningEndpoints(config);
      if (!endpoints) {
        console.error(
          `error: no devstack is up in ${config.stateDir}; start one with: npm run devstack -- up`,
        );
        return 1;
      }
      out(values.json ? JSON.stringify(endpoints, null, 2) : toShell(endpoints));
      return 0;
    }
    default:
      console.error(`error: unknown command "${command}"\n\n${usage}`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
