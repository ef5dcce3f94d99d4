import { describe, expect, test } from 'vitest';
import { DirectiveError, parseDirectives, parseFaultHeader, stripDirectives } from './directives.ts';

describe('parseDirectives', () => {
  test('reads every directive, case- and space-insensitively, ignoring other text', () => {
    expect(
      parseDirectives(
        'Hi [[fault:rate-limit-once]] there [[ TOKENS : 12 ]] [[rate:2.5]] [[retry-after:0]] [[fault-after:3]]',
      ),
    ).toEqual({ fault: 'rate-limit', faultOnce: true, tokens: 12, rate: 2.5, retryAfter: 0, faultAfter: 3 });
    expect(parseDirectives('no directives [here] [[unknown:1]]')).toEqual({});
    expect(parseDirectives('[[fault:never-ends]]')).toEqual({ fault: 'never-ends', faultOnce: false });
  });

  test('rejects unknown faults and out-of-range numbers', () => {
    expect(() => parseDirectives('[[fault:meteor]]')).toThrow(DirectiveError);
    expect(() => parseDirectives('[[tokens:0]]')).toThrow(DirectiveError);
    expect(() => parseDirectives('[[tokens:1.5]]')).toThrow(DirectiveError);
    expect(() => parseDirectives('[[rate:0]]')).toThrow(DirectiveError);
    expect(() => parseDirectives('[[retry-after:-1]]')).toThrow(DirectiveError);
    expect(() => parseDirectives('[[tokens:]]')).toThrow(DirectiveError);
  });
});

describe('parseFaultHeader', () => {
  test('takes a bare fault name or directive text', () => {
    expect(parseFaultHeader(undefined)).toEqual({});
    expect(parseFaultHeader(' drop-mid-stream ')).toEqual({ fault: 'drop-mid-stream', faultOnce: false });
    expect(parseFaultHeader('[[fault:server-error-once]][[tokens:3]]')).toEqual({
      fault: 'server-error',
      faultOnce: true,
      tokens: 3,
    });
    expect(() => parseFaultHeader('sometimes')).toThrow(DirectiveError);
  });
});

test('stripDirectives leaves the prompt the reply is derived from', () => {
  expect(stripDirectives('  Tell me [[fault:rate-limit]]  a story [[tokens:3]] ')).toBe('Tell me a story');
});
