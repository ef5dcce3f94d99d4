import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { payloadTooLarge } from './body-limit.ts';
import { buildGateway } from './gateway.ts';
import { upstreamFailure } from './proxy.ts';
import { DEFAULT_UPSTREAMS } from './upstreams.ts';

describe('buildGateway', () => {
  test('rejects invalid options before contacting anything, naming the option', async () => {
    const base = { kc: new KubeConfig(), namespace: 'tenantry-system', upstreams: DEFAULT_UPSTREAMS };
    await expect(
      buildGateway({ ...base, upstreams: { ...DEFAULT_UPSTREAMS, chat: 'chat:3002' } }),
    ).rejects.toThrow(
      'buildGateway: upstreams.chat must be an http(s) URL such as "http://chat:3002" or null (not deployed), got "chat:3002"',
    );
    await expect(buildGateway({ ...base, upstreamTimeoutMs: 0 })).rejects.toThrow(
      'buildGateway: upstreamTimeoutMs must be a positive integer, got 0',
    );
  });
});

describe('upstreamFailure', () => {
  test('a timeout is a 504, a service not listening a 503, any other failure a 502, and a 413 raised while streaming the body passes', () => {
    const timeout = Object.assign(new Error('Gateway Timeout'), { statusCode: 504 });
    expect(upstreamFailure('chat', timeout)).toMatchObject({ statusCode: 504, code: 'UPSTREAM_TIMEOUT' });
    expect(upstreamFailure('chat', new Error('socket hang up'))).toMatchObject({
      statusCode: 502,
      code: 'UPSTREAM_UNAVAILABLE',
    });
    expect(upstreamFailure('chat', new Error('connect ECONNREFUSED'))).toMatchObject({
      statusCode: 503,
      code: 'UPSTREAM_UNAVAILABLE',
      message: 'the chat service is unavailable',
    });
    const tooLarge = payloadTooLarge();
    expect(upstreamFailure('chat', new Error('request body stream errored', { cause: tooLarge }))).toBe(
      tooLarge,
    );
  });
});
