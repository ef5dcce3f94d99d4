import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MissingPrerequisiteError } from '../errors.ts';
import { runCommand } from '../processes.ts';

/** Components built from the Go module proxy share this check, so a missing toolchain reads the same everywhere. */
export async function ensureGo(why: string, minimum: string): Promise<void> {
  try {
    await runCommand('go', ['version']);
  } catch {
    throw new MissingPrerequisiteError(`go not found: ${why} (install Go ${minimum}+)`);
  }
}

/**
 * The environment of a build: static binaries (no C toolchain needed, nothing to break when the
 * system's libc changes) and no VCS stamping (sources copied out of the module cache have no .git).
 */
export function goBuildEnv(environment: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...environment, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false', GOWORK: 'off' };
}

/**
 * Runs `build(scratch)`, which produces a binary in `scratch` (a private directory inside `dir`) and
 * returns its path, then renames that binary to `dir/bin/<name>`. An interrupted build leaves nothing
 * there, so the next provision redoes it; two stacks provisioning the same cache at once (dev and test
 * take different locks) each rename a complete binary. Returns the binary's path.
 */
export async function installBinary(
  dir: string,
  name: string,
  build: (scratch: string) => Promise<string>,
): Promise<string> {
  const target = join(dir, 'bin', name);
  mkdirSync(dirname(target), { recursive: true });
  const scratch = mkdtempSync(join(dir, 'build-'));
  try {
    renameSync(await build(scratch), target);
    return target;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
