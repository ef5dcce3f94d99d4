import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The only module of devstack that reads the environment. */
export type InfraProvider = 'local' | 'containers';

export interface DevstackConfig {
  /** Where provisioned components are cached by version (survives `down`). */
  cacheDir: string;
  /** Where a running stack keeps its data, logs, pids and endpoints. */
  stateDir: string;
  provider: InfraProvider;
  /** A real ClickHouse server over HTTP instead of the embedded engine. */
  clickhouseUrl: string | undefined;
  /** Leave the test stack running after the suite, for fast re-runs (TENANTRY_KEEP_DEVSTACK=1). */
  keepTestStack: boolean;
  /** The environment this config was read from, for child processes that need it plus a few variables. */
  environment: NodeJS.ProcessEnv;
}

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export type Profile = 'dev' | 'test' | 'bench';

export function loadConfig(profile: Profile, env: NodeJS.ProcessEnv = process.env): DevstackConfig {
  const provider = env.TENANTRY_INFRA ?? 'local';
  if (provider !== 'local' && provider !== 'containers') {
    throw new Error(`TENANTRY_INFRA must be "local" or "containers", got "${provider}"`);
  }
  const clickhouseUrl = env.CLICKHOUSE_URL || undefined;
  if (clickhouseUrl && !/^https?:\/\//.test(clickhouseUrl)) {
    throw new Error(`CLICKHOUSE_URL must be an http(s) URL, got "${clickhouseUrl}"`);
  }
  return {
    cacheDir: env.TENANTRY_CACHE_DIR || join(homedir(), '.cache', 'tenantry'),
    stateDir: env.TENANTRY_STATE_DIR
      ? join(env.TENANTRY_STATE_DIR, profile)
      : join(repoRoot, '.devstack', profile),
    provider,
    clickhouseUrl,
    keepTestStack: env.TENANTRY_KEEP_DEVSTACK === '1',
    environment: env,
  };
}
