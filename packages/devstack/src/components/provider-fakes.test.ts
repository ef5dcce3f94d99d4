import { describe, expect, test } from 'vitest';
import { devstack } from '../testing/index.ts';

/**
 * The stack's provider fakes answer as the vendors do: checked over HTTP with each vendor's own request
 * shape (the SDKs themselves are exercised against the fakes in packages/provider-fakes).
 */
describe('provider-fakes component', () => {
  test('serves the three vendors under the base URLs the stack publishes', async () => {
    const { aiProviders } = devstack();
    const openai = await fetch(`${aiProviders.openaiBaseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${aiProviders.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }),
    });
    expect(openai.status).toBe(200);
    expect(((await openai.json()) as { object: string }).object).toBe('chat.completion');

    const anthropic = await fetch(`${aiProviders.anthropicBaseUrl}/v1/models`, {
      headers: { 'x-api-key': aiProviders.apiKey, 'anthropic-version': '2023-06-01' },
    });
    expect(anthropic.status).toBe(200);

    const gemini = await fetch(`${aiProviders.geminiBaseUrl}/v1beta/models`, {
      headers: { 'x-goog-api-key': aiProviders.apiKey },
    });
    expect(gemini.status).toBe(200);
    expect(((await gemini.json()) as { models: unknown[] }).models.length).toBeGreaterThan(0);
  });
});
