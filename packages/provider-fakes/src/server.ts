import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Vendor } from './catalogue.ts';
import { sendJson } from './http.ts';
import { FakeState, type FakeStats } from './state.ts';
import { handleAnthropic } from './vendors/anthropic.ts';
import { handleGemini } from './vendors/gemini.ts';
import { handleOpenAI } from './vendors/openai.ts';

export interface ProviderFakesOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Output pace of every generation unless a request says [[rate:N]]. */
  tokensPerSecond?: number;
  /** Keys the fakes accept; by default any non-empty key is accepted. */
  apiKeys?: readonly string[];
}

export interface ProviderFakes {
  url: string;
  /** For `new OpenAI({ baseURL })`. */
  openaiBaseUrl: string;
  /** For `new Anthropic({ baseURL })`. */
  anthropicBaseUrl: string;
  /** For `new GoogleGenAI({ httpOptions: { baseUrl } })`. */
  geminiBaseUrl: string;
  stats(): FakeStats;
  /** Zeroes the stats and forgets which `-once` faults fired. */
  reset(): void;
  /** Ends open streams (never-ending ones included) and stops listening. */
  close(): Promise<void>;
}

export const DEFAULT_TOKENS_PER_SECOND = 200;

type Handler = (
  state: FakeState,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  url: URL,
) => Promise<void>;

// The vendors share paths such as /v1/models, so each lives under its own prefix.
const HANDLERS: Record<Vendor, Handler> = {
  openai: handleOpenAI,
  anthropic: handleAnthropic,
  gemini: handleGemini,
};

export async function startProviderFakes(options: ProviderFakesOptions = {}): Promise<ProviderFakes> {
  const tokensPerSecond = options.tokensPerSecond ?? DEFAULT_TOKENS_PER_SECOND;
  if (!(tokensPerSecond > 0)) throw new RangeError('tokensPerSecond must be a positive number');
  const state = new FakeState({
    tokensPerSecond,
    apiKeys: options.apiKeys ? new Set(options.apiKeys) : undefined,
  });

  const server = createServer((req, res) => {
    route(state, req, res).catch((error: unknown) => {
      console.error('provider-fakes: request failed', error);
      if (!res.headersSent) sendJson(res, 500, { error: { message: 'provider-fakes internal error' } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    openaiBaseUrl: `${url}/openai/v1`,
    anthropicBaseUrl: `${url}/anthropic`,
    geminiBaseUrl: `${url}/gemini`,
    stats: () => state.stats(),
    reset: () => state.reset(),
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        state.endAll();
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function route(state: FakeState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://provider-fakes');
  const [, prefix = '', ...rest] = url.pathname.split('/');
  const path = `/${rest.join('/')}`;
  if (prefix === 'openai' || prefix === 'anthropic' || prefix === 'gemini') {
    state.countRequest(prefix);
    return HANDLERS[prefix](state, req, res, path, url);
  }
  if (url.pathname === '/health') return sendJson(res, 200, { status: 'healthy', service: 'provider-fakes' });
  // For a fakes process started by devstack, where stats() is out of reach of the tests.
  if (prefix === '_fake' && path === '/stats' && req.method === 'GET')
    return sendJson(res, 200, state.stats());
  if (prefix === '_fake' && path === '/reset' && req.method === 'POST') {
    state.reset();
    return sendJson(res, 200, state.stats());
  }
  sendJson(res, 404, {
    error: { message: 'not found: the fakes serve /openai/v1, /anthropic, /gemini and /_fake/stats' },
  });
}
