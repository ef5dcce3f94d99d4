import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { MODEL_CATALOGUE } from './catalogue.ts';
import { fakeReply } from './generation.ts';
import { type ProviderFakes, startProviderFakes } from './server.ts';

let fakes: ProviderFakes;
beforeAll(async () => {
  fakes = await startProviderFakes({ tokensPerSecond: 20_000 });
});
afterAll(() => fakes.close());

/** A raw OpenAI-shaped request, to observe the wire without an SDK in between. */
function chat(base: string, content: string, options: { stream?: boolean; signal?: AbortSignal } = {}) {
  return fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'gpt-4o-mini',
      stream: options.stream ?? false,
      messages: [{ role: 'user', content }],
    }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

describe('pacing', () => {
  test('the server rate paces a whole reply', async () => {
    const slow = await startProviderFakes({ tokensPerSecond: 50 });
    try {
      const started = performance.now();
      const response = await chat(slow.openaiBaseUrl, 'pace me [[tokens:10]]');
      expect(response.status).toBe(200);
      // 10 tokens at 50/s: the last one is due after 200 ms.
      expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    } finally {
      await slow.close();
    }
  });

  test('[[rate:N]] paces the stream token by token, overriding a fast server', async () => {
    const response = await chat(fakes.openaiBaseUrl, 'pace me [[tokens:8]] [[rate:40]]', { stream: true });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const arrivals: number[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      const text = new TextDecoder().decode(r.value);
      for (const _ of text.matchAll(/"content":"[^"]+"/g)) arrivals.push(performance.now());
    }
    expect(arrivals).toHaveLength(8);
    // Tokens are due every 25 ms: 7 intervals between the first and the last.
    expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(160);
  });

  test('the default server rate is fast', async () => {
    const fast = await startProviderFakes();
    try {
      const started = performance.now();
      expect((await chat(fast.openaiBaseUrl, 'quick [[tokens:40]]')).status).toBe(200);
      // 40 tokens at 200/s is 200 ms; the bound only allows for a busy machine.
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    } finally {
      await fast.close();
    }
  });

  test('refuses a rate that is not positive', async () => {
    await expect(startProviderFakes({ tokensPerSecond: 0 })).rejects.toThrow(RangeError);
  });
});

describe('faults', () => {
  test('a -once fault alternates: the first attempt fails, the retry passes, the next attempt fails again', async () => {
    const prompt = `alternate ${Math.random()} [[fault:server-error-once]]`;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await chat(fakes.openaiBaseUrl, prompt)).status);
    expect(statuses).toEqual([500, 200, 500, 200]);
  });

  test('directives are read from the last user message only', async () => {
    const response = await fetch(`${fakes.openaiBaseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-4o',
        messages: [
          { role: 'user', content: 'earlier [[fault:server-error]]' },
          { role: 'assistant', content: 'ok' },
          { role: 'user', content: 'now' },
        ],
      }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe(fakeReply('now'));
  });
});

describe('lifecycle and observability', () => {
  test('close() ends a never-ending stream without counting it as a client abort', async () => {
    const own = await startProviderFakes({ tokensPerSecond: 20_000 });
    const response = await chat(own.openaiBaseUrl, 'hang [[fault:never-ends]]', { stream: true });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await vi.waitFor(() => expect(own.stats().inFlight).toBe(1));
    await own.close();
    await expect(
      (async () => {
        for (let r = await reader.read(); !r.done; r = await reader.read()) {}
      })(),
    ).rejects.toThrow('terminated');
    expect(own.stats()).toMatchObject({ aborted: 0, inFlight: 0 });
  });

  test('serves /health, /_fake/stats and /_fake/reset for a fakes process', async () => {
    const own = await startProviderFakes({ tokensPerSecond: 20_000 });
    try {
      expect(await (await fetch(`${own.url}/health`)).json()).toEqual({
        status: 'healthy',
        service: 'provider-fakes',
      });
      await chat(own.openaiBaseUrl, 'count me [[fault:overloaded]]');
      await chat(own.openaiBaseUrl, 'count me');
      const stats = await (await fetch(`${own.url}/_fake/stats`)).json();
      expect(stats).toMatchObject({
        requests: { openai: 2, anthropic: 0, gemini: 0 },
        completed: { openai: 1 },
        faults: { 'openai:overloaded': 1 },
      });
      const reset = await (await fetch(`${own.url}/_fake/reset`, { method: 'POST' })).json();
      expect(reset).toMatchObject({ requests: { openai: 0 }, faults: {} });
      expect((await fetch(`${own.url}/nowhere`)).status).toBe(404);
    } finally {
      await own.close();
    }
  });

  test('every vendor has models in the catalogue, each with a context window', () => {
    for (const vendor of ['openai', 'anthropic', 'gemini']) {
      const models = MODEL_CATALOGUE.filter((m) => m.vendor === vendor);
      expect(models.length).toBeGreaterThanOrEqual(2);
      for (const m of models) expect(m.contextWindow).toBeGreaterThan(m.maxOutputTokens);
    }
  });
});

describe('CLI', () => {
  const main = fileURLToPath(new URL('./main.ts', import.meta.url));
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  const run = (...args: string[]) =>
    spawn(process.execPath, ['--import', 'tsx', main, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  test('prints its URLs as one JSON line, serves, and exits cleanly on SIGTERM', async () => {
    const child = run('--port', '0', '--tokens-per-second', '5000');
    try {
      const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      const urls = JSON.parse(line) as Record<string, string>;
      expect(Object.keys(urls).sort()).toEqual(['anthropicBaseUrl', 'geminiBaseUrl', 'openaiBaseUrl', 'url']);
      expect(urls.openaiBaseUrl).toBe(`${urls.url}/openai/v1`);
      const response = await chat(urls.openaiBaseUrl ?? '', 'from the cli [[tokens:3]]');
      expect(response.status).toBe(200);
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  test('rejects a bad --port with exit code 2', async () => {
    const child = run('--port', 'eighty');
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
  });
});
