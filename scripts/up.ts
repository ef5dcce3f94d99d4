import {
  createProgress,
  down,
  endpointVariables,
  formatSeconds,
  loadConfig,
  status,
  up,
} from '@tenantry/devstack';

/**
 * `npm run up`: the platform running locally, in the foreground, until Ctrl-C. Today that is the
 * infrastructure (devstack); the operator, gateway and services join it as they land.
 */
const config = loadConfig('dev');
const progress = createProgress();
const print = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const started = performance.now();
  print('Starting Tenantry locally (first run provisions and caches the infrastructure: a few minutes).');
  const { endpoints } = await up(config, progress);
  print();
  print(`Tenantry infrastructure is up in ${formatSeconds(performance.now() - started)}:`);
  for (const [name, value] of Object.entries(endpointVariables(endpoints)))
    print(`  ${name.padEnd(16)} ${value}`);
  print();
  print('Try it from another shell:');
  print(`  eval "$(npm run -s devstack -- env)"`);
  print('  "$KUBECTL" get namespaces');
  print('  psql "$DATABASE_URL" -c "select version()"');
  print();
  print('Press Ctrl-C to stop everything.');

  await new Promise<void>((resolve) => {
    // The watchdog also keeps the event loop alive: signal listeners alone do not.
    const reported = new Set<string>();
    const watchdog = setInterval(async () => {
      for (const component of await status(config)) {
        if (!component.healthy && !reported.has(component.name)) {
          reported.add(component.name);
          console.error(`warning: ${component.name} is not healthy any more (see .devstack/dev/logs)`);
        }
      }
    }, 10_000);
    let stopping = false;
    const stop = () => {
      // Ctrl-C may arrive twice (from the terminal and forwarded by the launcher): stop once.
      if (stopping) return;
      stopping = true;
      clearInterval(watchdog);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  print();
  await down(config, progress);
  print(
    'Stopped; no process left running. Data is kept in .devstack/dev (npm run devstack -- down --purge deletes it).',
  );
}

main().catch((error: unknown) => {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
