import { describe, expect, test } from 'vitest';
import { countTokens, replyPieces } from './tokens.ts';

describe('countTokens', () => {
  test('counts words and punctuation marks, not whitespace', () => {
    expect(countTokens('')).toBe(0);
    expect(countTokens('   ')).toBe(0);
    expect(countTokens('Hello, world.')).toBe(4);
    expect(countTokens("tenant_42 isn't here")).toBe(5);
    expect(countTokens('[[tokens:5]]')).toBe(7);
    expect(countTokens('naïve café')).toBe(2);
  });
});

describe('replyPieces', () => {
  test('the same prompt gives the same reply, another prompt another one', () => {
    expect(replyPieces('a prompt', 40)).toEqual(replyPieces('a prompt', 40));
    expect(replyPieces('a prompt', 40)).not.toEqual(replyPieces('another prompt', 40));
  });

  test('every piece is exactly one token, so the joined text counts as many tokens as pieces', () => {
    for (const prompt of ['x', 'Tell me a story', 'ünïcode ✓']) {
      const pieces = replyPieces(prompt, 200);
      expect(pieces).toHaveLength(200);
      for (const piece of pieces) expect(countTokens(piece)).toBe(1);
      expect(countTokens(pieces.join(''))).toBe(200);
    }
  });

  test('a shorter reply is a prefix of a longer one', () => {
    expect(replyPieces('p', 200).slice(0, 13)).toEqual(replyPieces('p', 13));
    expect(replyPieces('p', 0)).toEqual([]);
  });

  test('reads as sentences: starts capitalised, punctuation without a leading space', () => {
    const text = replyPieces('sentences', 60).join('');
    expect(text).toMatch(/^[A-Z]/);
    expect(text).not.toMatch(/ [.,]/);
    expect(text).toMatch(/\. [A-Z]/);
  });
});
