import type { TestProject } from 'vitest/node';
import { loadConfig } from '../config.ts';
import type { Endpoints } from '../endpoints.ts';
import { createProgress, silentProgress } from '../progress.ts';
import { down, up } from '../stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    devstack: Endpoints;
  }
}

/**
 * Vitest global setup: brings the test stack (.devstack/test) up once per run and provides its
 * endpoints to every test file. A stack that was already fully up is reused and left running;
 * otherwise it is stopped when the run ends (unless TENANTRY_KEEP_DEVSTACK=1).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const config = loadConfig('test');
  const progress = createProgress();
  const { endpoints, started } = await progress.step('devstack up (test profile)', () =>
    up(config, progress),
  );
  project.provide('devstack', endpoints);
  return async () => {
    // Silent: the run must end with the reporter's summary line, which CI reads.
    if (started.length > 0 && !config.keepTestStack) await down(config, silentProgress);
  };
}
