import { Type } from '@sinclair/typebox';
import { type Env, loadConfig, url } from '@tenantry/config';
import { tenantServiceEnv } from '@tenantry/service-runtime';

/** Retries of a provider call that failed before its first token, besides the first attempt. */
export const DEFAULT_PROVIDER_RETRIES = 2;
/** The longest retry-after honoured: a provider asking for more is reported as unavailable instead. */
export const DEFAULT_MAX_RETRY_DELAY_MS = 10_000;

/** A provider's key: empty or unset disables the provider (not listed, 400 when asked for). */
const apiKey = () => Type.Optional(Type.String());

/** The chat service's configuration: the only reader of the environment in this program. */
const schema = Type.Object({
  ...tenantServiceEnv(3002),
  OPENAI_BASE_URL: url({ default: 'https://api.openai.com/v1' }),
  OPENAI_API_KEY: apiKey(),
  ANTHROPIC_BASE_URL: url({ default: 'https://api.anthropic.com' }),
  ANTHROPIC_API_KEY: apiKey(),
  GEMINI_BASE_URL: url({ default: 'https://generativelanguage.googleapis.com' }),
  GEMINI_API_KEY: apiKey(),
  /** A JSON file replacing the shipped price table (src/models.json's shape). */
  CHAT_PRICES_FILE: Type.Optional(Type.String({ minLength: 1 })),
  PROVIDER_RETRIES: Type.Integer({ minimum: 0, maximum: 10, default: DEFAULT_PROVIDER_RETRIES }),
  PROVIDER_MAX_RETRY_DELAY_MS: Type.Integer({
    minimum: 0,
    maximum: 120_000,
    default: DEFAULT_MAX_RETRY_DELAY_MS,
  }),
});

export type ChatConfig = ReturnType<typeof loadChatConfig>;

/** Throws one ConfigError listing every invalid or missing variable. */
export function loadChatConfig(env: Env = process.env) {
  return loadConfig(schema, env);
}
