import { parseArgs } from 'node:util';
import { DEFAULT_TOKENS_PER_SECOND, startProviderFakes } from './server.ts';

const usage = `provider-fakes — local OpenAI, Anthropic and Gemini APIs for development and tests

usage: provider-fakes [--port N] [--host 127.0.0.1] [--tokens-per-second N] [--api-key KEY]...

Prints one JSON line {url, openaiBaseUrl, anthropicBaseUrl, geminiBaseUrl} once listening;
SIGINT or SIGTERM ends open streams and exits.`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'tokens-per-second': { type: 'string', default: String(DEFAULT_TOKENS_PER_SECOND) },
      'api-key': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.error(usage);
    return 0;
  }
  const port = Number(values.port);
  const tokensPerSecond = Number(values['tokens-per-second']);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`error: --port must be an integer from 0 to 65535, got "${values.port}"`);
    return 2;
  }
  if (!(tokensPerSecond > 0)) {
    console.error(
      `error: --tokens-per-second must be a positive number, got "${values['tokens-per-second']}"`,
    );
    return 2;
  }
  const fakes = await startProviderFakes({
    port,
    host: values.host,
    tokensPerSecond,
    ...(values['api-key'] ? { apiKeys: values['api-key'] } : {}),
  });
  const { url, openaiBaseUrl, anthropicBaseUrl, geminiBaseUrl } = fakes;
  process.stdout.write(`${JSON.stringify({ url, openaiBaseUrl, anthropicBaseUrl, geminiBaseUrl })}\n`);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await fakes.close();
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
