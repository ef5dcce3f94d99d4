import type { Bindings, ChildLoggerOptions, Level, LogFn, Logger } from 'pino';

/** What a request's logger offers: the shape of Fastify's FastifyBaseLogger. */
export interface RequestLogger {
  level: string;
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
  silent: LogFn;
  child(bindings: Bindings, options?: ChildLoggerOptions): RequestLogger;
}

/**
 * A child of `parent` that becomes a pino child only when it first writes a line. A pino child costs
 * a few microseconds per binding (each value goes through the redaction paths), and a request logger
 * is made for every request: most write nothing below the level, and their children cost nothing.
 *
 * Lines are the same as a pino child's; children of a lazy child merge their bindings into one object
 * (a key bound twice appears once, with the later value). Options (a route's level or serializers)
 * make the pino child at once.
 */
export function lazyChild(parent: Logger, bindings: Bindings, options?: ChildLoggerOptions): RequestLogger {
  if (options && Object.keys(options).length > 0) return parent.child(bindings, options);
  return new LazyChild(parent, bindings);
}

class LazyChild implements RequestLogger {
  readonly #parent: Logger;
  readonly #bindings: Bindings;
  #logger: Logger | undefined;

  constructor(parent: Logger, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  get level(): string {
    return (this.#logger ?? this.#parent).level;
  }

  set level(level: string) {
    this.#made().level = level;
  }

  // Methods, not per-instance closures: one of these is made for every request.
  fatal(...args: unknown[]): void {
    this.#write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#write('error', args);
  }
  warn(...args: unknown[]): void {
    this.#write('warn', args);
  }
  info(...args: unknown[]): void {
    this.#write('info', args);
  }
  debug(...args: unknown[]): void {
    this.#write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#write('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): RequestLogger {
    if (this.#logger) return this.#logger.child(bindings, options);
    return lazyChild(this.#parent, { ...this.#bindings, ...bindings }, options);
  }

  #made(): Logger {
    this.#logger ??= this.#parent.child(this.#bindings);
    return this.#logger;
  }

  #write(level: Level, args: unknown[]): void {
    // The level is the parent's until this child has one of its own (set through `level`).
    if (!this.#logger && !this.#parent.isLevelEnabled(level)) return;
    const logger = this.#made();
    (logger[level] as (...a: unknown[]) => void).apply(logger, args);
  }
}
