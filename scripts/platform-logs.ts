import { join } from 'node:path';

/**
 * Where `npm run up` writes the platform's own log lines (the operator's and every service's, JSON,
 * one `service` field each), so the terminal shows progress and what to do, not log lines. The
 * infrastructure's logs are beside it, one file per process (`.devstack/dev/logs/`).
 */
export function platformLogFile(stateDir: string): string {
  return join(stateDir, 'logs', 'platform.log');
}
