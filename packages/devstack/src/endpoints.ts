/** How to reach a running stack: what `devstack env` prints and what tests receive. */
export interface Endpoints {
  provider: 'local' | 'containers';
  postgres: {
    /** Superuser URL, to the `postgres` maintenance database. */
    url: string;
    host: string;
    port: number;
    user: string;
    password: string;
  };
  kafka: { brokers: string[] };
  kube: {
    kubeconfig: string;
    server: string;
  };
  clickhouse: { mode: 'embedded'; path: string } | { mode: 'http'; url: string };
  /** stripe-mock: Stripe's API (stateless, answers from fixtures); any `sk_test_<word>` key is accepted. */
  stripe: { url: string; apiKey: string };
  /** Mailpit's SMTP server: any credentials or none, no TLS. */
  smtp: { host: string; port: number };
  /** Mailpit's HTTP API (`<apiUrl>/search`, `<apiUrl>/message/<id>`) and web UI. */
  mailpit: { apiUrl: string; uiUrl: string };
  /** packages/provider-fakes: the OpenAI, Anthropic and Gemini APIs, each under its base URL. */
  aiProviders: { openaiBaseUrl: string; anthropicBaseUrl: string; geminiBaseUrl: string; apiKey: string };
  bin: { kubectl: string; helm: string };
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

export function endpointVariables(endpoints: Endpoints): Record<string, string> {
  const vars: Record<string, string> = {
    DATABASE_URL: endpoints.postgres.url,
    KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
    KUBECONFIG: endpoints.kube.kubeconfig,
    CLICKHOUSE_MODE: endpoints.clickhouse.mode,
  };
  if (endpoints.clickhouse.mode === 'http') vars.CLICKHOUSE_URL = endpoints.clickhouse.url;
  else vars.CLICKHOUSE_PATH = endpoints.clickhouse.path;
  vars.STRIPE_API_BASE = endpoints.stripe.url;
  vars.STRIPE_SECRET_KEY = endpoints.stripe.apiKey;
  vars.SMTP_HOST = endpoints.smtp.host;
  vars.SMTP_PORT = String(endpoints.smtp.port);
  vars.MAILPIT_API_URL = endpoints.mailpit.apiUrl;
  vars.MAILPIT_UI_URL = endpoints.mailpit.uiUrl;
  vars.OPENAI_BASE_URL = endpoints.aiProviders.openaiBaseUrl;
  vars.ANTHROPIC_BASE_URL = endpoints.aiProviders.anthropicBaseUrl;
  vars.GEMINI_BASE_URL = endpoints.aiProviders.geminiBaseUrl;
  vars.AI_PROVIDERS_API_KEY = endpoints.aiProviders.apiKey;
  vars.KUBECTL = endpoints.bin.kubectl;
  vars.HELM = endpoints.bin.helm;
  return vars;
}

/** `export NAME=value` lines, for `eval "$(devstack env)"`. */
export function toShell(endpoints: Endpoints): string {
  return Object.entries(endpointVariables(endpoints))
    .map(([name, value]) => `export ${name}=${shellQuote(value)}`)
    .join('\n');
}
