/**
 * Per-request behaviour is chosen by directives written into the last user message, e.g.
 * `[[fault:rate-limit-once]] [[tokens:12]]`, because that text survives any service in between (the
 * chat service forwards the user's words, not custom headers). Direct tests may send the same in an
 * `x-fake-fault` header instead.
 */

export const FAULTS = [
  'rate-limit',
  'server-error',
  'overloaded',
  'error-mid-stream',
  'drop-mid-stream',
  'never-ends',
] as const;

export type FaultName = (typeof FAULTS)[number];

export interface Directives {
  fault?: FaultName;
  /** The fault hits only every other attempt with the same prompt, so one retry succeeds. */
  faultOnce?: boolean;
  /** Tokens emitted before a mid-stream fault. */
  faultAfter?: number;
  /** Natural reply length in tokens (max_tokens still caps it). */
  tokens?: number;
  /** Tokens per second. */
  rate?: number;
  /** Seconds in a 429's retry-after. */
  retryAfter?: number;
}

export class DirectiveError extends Error {}

const DIRECTIVE = /\[\[\s*(fault|tokens|rate|retry-after|fault-after)\s*:\s*([^\]]*?)\s*\]\]/gi;

export function parseDirectives(text: string): Directives {
  const found: Directives = {};
  for (const [, rawName, value = ''] of text.matchAll(DIRECTIVE)) {
    const name = rawName?.toLowerCase();
    switch (name) {
      case 'fault':
        Object.assign(found, parseFault(value));
        break;
      case 'tokens':
        found.tokens = parseNumber(name, value, 'positive integer');
        break;
      case 'rate':
        found.rate = parseNumber(name, value, 'positive');
        break;
      case 'retry-after':
        found.retryAfter = parseNumber(name, value, 'non-negative');
        break;
      case 'fault-after':
        found.faultAfter = parseNumber(name, value, 'non-negative integer');
        break;
    }
  }
  return found;
}

/** The header takes a bare fault name (`rate-limit-once`) or directive text (`[[tokens:3]]`). */
export function parseFaultHeader(value: string | undefined): Directives {
  if (!value?.trim()) return {};
  return value.includes('[[') ? parseDirectives(value) : parseFault(value.trim());
}

/** The prompt with directives removed: what the reply is derived from. */
export function stripDirectives(text: string): string {
  return text.replace(DIRECTIVE, ' ').replace(/\s+/g, ' ').trim();
}

function parseFault(value: string): Pick<Directives, 'fault' | 'faultOnce'> {
  const lower = value.toLowerCase();
  const once = lower.endsWith('-once');
  const name = once ? lower.slice(0, -'-once'.length) : lower;
  if (!(FAULTS as readonly string[]).includes(name)) {
    throw new DirectiveError(
      `unknown fake fault "${value}"; expected one of ${FAULTS.join(', ')} (optionally with -once)`,
    );
  }
  return { fault: name as FaultName, faultOnce: once };
}

type NumberKind = 'positive integer' | 'positive' | 'non-negative' | 'non-negative integer';

function parseNumber(name: string, value: string, kind: NumberKind): number {
  const n = Number(value);
  const ok =
    value !== '' &&
    Number.isFinite(n) &&
    (kind === 'positive integer'
      ? Number.isInteger(n) && n >= 1
      : kind === 'positive'
        ? n > 0
        : kind === 'non-negative'
          ? n >= 0
          : Number.isInteger(n) && n >= 0);
  if (!ok) throw new DirectiveError(`fake directive [[${name}:${value}]] needs a ${kind} number`);
  return n;
}
