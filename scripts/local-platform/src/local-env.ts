import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Endpoints } from '@tenantry/devstack';

/**
 * The services' settings for a local stack's stand-ins of paid and external systems: the provider
 * fakes for chat, stripe-mock for billing, Mailpit for notifications. Real keys or a real SMTP relay
 * in the environment of `npm run up` are not overridden here: the caller decides what wins.
 */
export function localServiceEnv(endpoints: Endpoints): Record<string, string> {
  return {
    OPENAI_BASE_URL: endpoints.aiProviders.openaiBaseUrl,
    OPENAI_API_KEY: endpoints.aiProviders.apiKey,
    ANTHROPIC_BASE_URL: endpoints.aiProviders.anthropicBaseUrl,
    ANTHROPIC_API_KEY: endpoints.aiProviders.apiKey,
    GEMINI_BASE_URL: endpoints.aiProviders.geminiBaseUrl,
    GEMINI_API_KEY: endpoints.aiProviders.apiKey,
    STRIPE_API_URL: endpoints.stripe.url,
    STRIPE_SECRET_KEY: endpoints.stripe.apiKey,
    // stripe-mock sends no webhooks; a local secret lets a developer sign test events with it.
    STRIPE_WEBHOOK_SECRET: 'whsec_local_devstack',
    SMTP_HOST: endpoints.smtp.host,
    SMTP_PORT: String(endpoints.smtp.port),
    // Unsubscribe links are signed with it; a fresh one per start invalidates the old links, which
    // is fine locally.
    UNSUBSCRIBE_SECRET: randomBytes(32).toString('base64url'),
    // The local gateway serves plain HTTP.
    LINK_SCHEME: 'http',
    // ClickHouse as the stack runs it: a server by URL, or the engine in-process at a path of its own.
    ...(endpoints.clickhouse.mode === 'http'
      ? { CLICKHOUSE_URL: endpoints.clickhouse.url }
      : { CLICKHOUSE_PATH: join(endpoints.clickhouse.path, 'analytics') }),
  };
}
