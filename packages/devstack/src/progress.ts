/**
 * Progress output for people: one line when a step starts, one when it ends with its duration.
 * Goes to stderr so that `devstack env` keeps stdout for shell lines or JSON.
 */
export interface Progress {
  info(message: string): void;
  step<T>(label: string, work: () => Promise<T>): Promise<T>;
}

export function createProgress(
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Progress {
  return {
    info: (message) => write(`  ${message}`),
    async step(label, work) {
      const started = performance.now();
      write(`▸ ${label}…`);
      try {
        const result = await work();
        write(`✓ ${label} (${formatSeconds(performance.now() - started)})`);
        return result;
      } catch (error) {
        write(`✗ ${label} failed after ${formatSeconds(performance.now() - started)}`);
        throw error;
      }
    },
  };
}

export const silentProgress: Progress = {
  info: () => {},
  step: (_label, work) => work(),
};

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
