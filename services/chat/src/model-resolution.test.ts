import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpError } from '@tenantry/service-kit';
import { describe, expect, test } from 'vitest';
import { costMicroUsd, ModelCatalogue } from './model-catalogue.ts';
import { fitRequest, resolveModel } from './model-resolution.ts';
import { periodOf } from './usage-period.ts';

/** The pure parts: the price table, the model a request names, the quota period. */

const withoutGoogle = ModelCatalogue.load(undefined, ['openai', 'anthropic']);

function refusal(fn: () => unknown): { status: number; code: string; field: string | undefined } | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return { status: error.statusCode, code: error.code, field: error.field };
    throw error;
  }
  return undefined;
}

describe('the model a request names', () => {
  test('a provider without a key is not listed, and asking for it is a 400 naming it', () => {
    expect(withoutGoogle.list().map((m) => m.provider)).not.toContain('google');
    expect(refusal(() => resolveModel(withoutGoogle, 'google', 'gemini-2.5-flash'))).toEqual({
      status: 400,
      code: 'PROVIDER_NOT_ENABLED',
      field: '/body/provider',
    });
    expect(withoutGoogle.findById('gemini-2.5-flash')).toBeUndefined();
  });

  test('unknown providers and models are told apart', () => {
    expect(refusal(() => resolveModel(withoutGoogle, 'mistral', 'x'))?.code).toBe('UNKNOWN_PROVIDER');
    expect(refusal(() => resolveModel(withoutGoogle, 'openai', 'claude-haiku-4-5'))?.code).toBe(
      'UNKNOWN_MODEL',
    );
    expect(resolveModel(withoutGoogle, 'anthropic', 'claude-haiku-4-5').contextWindow).toBe(200_000);
  });

  test('maxTokens defaults under the model limit; a reply that cannot fit the context is 413', () => {
    const model = resolveModel(withoutGoogle, 'openai', 'gpt-4o');
    const request = { system: null, history: [], prompt: 'hello', maxTokens: undefined };
    const fields = { maxTokens: '/body/maxTokens', message: '/body/message' };
    expect(fitRequest(model, request, fields)).toBe(1024);
    expect(refusal(() => fitRequest(model, { ...request, maxTokens: 16_385 }, fields))?.field).toBe(
      '/body/maxTokens',
    );
    const long = { ...request, prompt: 'word '.repeat(120_000), maxTokens: 16_000 };
    expect(refusal(() => fitRequest(model, long, fields))).toMatchObject({
      status: 413,
      code: 'CONTEXT_TOO_LONG',
    });
  });
});

describe('the price table', () => {
  test('cost is integer micro-USD, rounded up so a priced message never costs 0', () => {
    const mini = ModelCatalogue.load(undefined, ['openai']).find('openai', 'gpt-4o-mini');
    if (!mini) throw new Error('gpt-4o-mini missing from the shipped table');
    // 1000 × 0.15 + 500 × 0.60 micro-USD.
    expect(costMicroUsd(mini, 1000, 500)).toBe(450);
    expect(costMicroUsd(mini, 1, 0)).toBe(1);
    expect(costMicroUsd(mini, 0, 0)).toBe(0);
  });

  test('a replacement file is read whole; an invalid one fails naming the path at fault', () => {
    const file = join(tmpdir(), `chat-prices-${process.pid}-${Date.now()}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        models: [
          {
            provider: 'openai',
            id: 'house-model',
            displayName: 'House',
            contextWindow: 1000,
            maxOutputTokens: 100,
            inputMicroUsdPerMillion: 1,
            outputMicroUsdPerMillion: 2,
          },
        ],
      }),
    );
    expect(
      ModelCatalogue.load(file, ['openai'])
        .list()
        .map((m) => m.id),
    ).toEqual(['house-model']);
    writeFileSync(file, JSON.stringify({ models: [{ provider: 'openai', id: 'x' }] }));
    expect(() => ModelCatalogue.load(file, ['openai'])).toThrow(/invalid at \/models\/0/);
    expect(() => ModelCatalogue.load(join(tmpdir(), 'no-such-prices.json'), [])).toThrow(/while reading/);
  });
});

test('the quota period is the calendar month, UTC', () => {
  expect(periodOf(new Date('2026-12-31T23:59:59.999Z'))).toEqual({
    start: new Date('2026-12-01T00:00:00.000Z'),
    end: new Date('2027-01-01T00:00:00.000Z'),
  });
  expect(periodOf(new Date('2027-01-01T00:00:00.000Z')).start).toEqual(new Date('2027-01-01T00:00:00.000Z'));
});
