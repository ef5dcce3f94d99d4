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
