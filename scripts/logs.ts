import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { loadConfig } from '@tenantry/devstack';
import { prettyFactory } from 'pino-pretty';
import { platformLogFile } from './platform-logs.ts';

/**
 * `npm run logs [-- <service>]`: the local platform's log (what `npm run up` writes), readable, from
 * its last lines on and followed until Ctrl-C; with a name, that service's lines only (auth, users,
 * gateway, tenant-operator, ...).
 */
const BACKLOG_BYTES = 64 * 1024;
const POLL_MS = 300;

const [service] = process.argv.slice(2);
const file = platformLogFile(loadConfig('dev').stateDir);
if (!existsSync(file)) {
  console.error(`no platform log yet at ${file}: start the platform with npm run up`);
  process.exit(1);
}
const pretty = prettyFactory({
  colorize: process.stdout.isTTY ?? false,
  translateTime: 'SYS:HH:MM:ss.l',
  messageKey: 'msg',
  ignore: 'pid,hostname',
});

let position = Math.max(0, statSync(file).size - BACKLOG_BYTES);
let partial = '';
let skipFirst = position > 0; // the backlog may start mid-line

function show(line: string): void {
  if (line.trim() === '') return;
  try {
    const record = JSON.parse(line) as { service?: string };
    if (service && record.service !== service) return;
    process.stdout.write(pretty(record));
  } catch {
    if (!service) process.stdout.write(`${line}\n`);
  }
}

function readNew(): void {
  const size = statSync(file).size;
  if (size < position) position = 0; // the file was started anew
  if (size === position) return;
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(size - position);
    readSync(fd, buffer, 0, buffer.length, position);
    position = size;
    const lines = (partial + buffer.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    if (skipFirst) {
      lines.shift();
      skipFirst = false;
    }
    for (const line of lines) show(line);
  } finally {
    closeSync(fd);
  }
}

readNew();
setInterval(readNew, POLL_MS);
process.on('SIGINT', () => process.exit(0));
