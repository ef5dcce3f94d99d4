/**
 * Every problem with a program's environment at once, so one failed start shows them all instead of
 * one per restart.
 */
export class ConfigError extends Error {
  /** One sentence per invalid or missing variable, naming it. */
  readonly issues: readonly string[];

  constructor(issues: readonly string[]) {
    super(`invalid configuration: ${issues.join('; ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
