import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ERROR_CODES, HttpError } from '@tenantry/service-kit';
import type { FastifyRequest } from 'fastify';
import {
  HTTP_METHODS,
  isOpenApiDocument,
  mergeOpenApi,
  type OpenApiDocument,
  type ServiceDocuments,
} from './openapi-merge.ts';
import { SERVICE_NAMES, type Upstreams } from './upstreams.ts';

export interface ApiDocsOptions {
  upstreams: Upstreams;
  timeoutMs: number;
  /** How long a merged document is served before the services are asked again. */
  cacheMs?: number;
  /** Requests per minute one client address may make to /docs and /docs/openapi.json. */
  requestsPerMinutePerClient?: number;
}

/**
 * /docs is public (no tenant, no token) and each merge asks every service: cached, so a burst costs
 * the services one fetch each, and limited per client address, so no one client keeps the gateway busy.
 */
export const DEFAULT_DOCS_CACHE_MS = 30_000;
export const DEFAULT_DOCS_REQUESTS_PER_MINUTE_PER_CLIENT = 60;

/** Where every service serves the document built from its route schemas (service-kit). */
const SERVICE_OPENAPI_PATH = '/openapi.json';

async function serviceDocument(
  baseUrl: string | null,
  timeoutMs: number,
): Promise<OpenApiDocument | undefined> {
  if (baseUrl === null) return undefined; // not deployed: listed as missing
  try {
    const response = await fetch(new URL(SERVICE_OPENAPI_PATH, baseUrl), {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: 'application/json' },
    });
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      return undefined;
    }
    const document: unknown = await response.json();
    return isOpenApiDocument(document) ? document : undefined;
  } catch {
    return undefined;
  }
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] ?? character);
}

/** A plain page over the merged document: no scripts, so the default Content-Security-Policy holds. */
export function renderDocsPage(document: OpenApiDocument): string {
  const rows: string[] = [];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(item)) {
      if (!HTTP_METHODS.has(method)) continue;
      const { summary, security } = (operation ?? {}) as { summary?: unknown; security?: unknown };
      const token = Array.isArray(security) && security.length === 0 ? 'no' : 'yes';
      rows.push(
        `<tr><td>${escapeHtml(method.toUpperCase())}</td><td><code>${escapeHtml(path)}</code></td>` +
          `<td>${escapeHtml(typeof summary === 'string' ? summary : '')}</td><td>${token}</td></tr>`,
      );
    }
  }
  const services = Object.entries((document['x-tenantry-services'] ?? {}) as Record<string, string>)
    .map(([service, state]) => `<li>${escapeHtml(service)}: ${escapeHtml(state)}</li>`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(document.info.title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; }
table { border-collapse: collapse; }
td, th { border-bottom: 1px solid #ddd; padding: 0.3rem 0.8rem; text-align: left; }
</style>
</head>
<body>
<h1>${escapeHtml(document.info.title)}</h1>
<p>${escapeHtml(document.info.description ?? '')}</p>
<p>OpenAPI 3.1 document: <a href="/docs/openapi.json">/docs/openapi.json</a></p>
<h2>Services</h2>
<ul>${services}</ul>
<h2>Operations</h2>
<table>
<thead><tr><th>Method</th><th>Path</th><th>Summary</th><th>Token</th></tr></thead>
<tbody>${rows.join('\n')}</tbody>
</table>
</body>
</html>
`;
}

/**
 * `GET /docs/openapi.json`: the services' OpenAPI documents merged into one, fetched at most once per
 * `cacheMs` (concurrent callers share one fetch; a redeployed service shows within that time); a
 * service that does not answer is listed as missing, not an error. `GET /docs`: the same as a page.
 * Both are limited per client address (429 TOO_MANY_REQUESTS).
 */
export const apiDocsRoutes: FastifyPluginAsyncTypebox<ApiDocsOptions> = async (app, options) => {
  const cacheMs = options.cacheMs ?? DEFAULT_DOCS_CACHE_MS;
  let cached: { until: number; document: Promise<OpenApiDocument> } | undefined;
  const current = (): Promise<OpenApiDocument> => {
    if (cached && Date.now() < cached.until) return cached.document;
    const document = merged();
    const entry = { until: Date.now() + cacheMs, document };
    cached = entry;
    // A failed merge is not kept: the next caller tries again.
    document.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return document;
  };

  await app.register(rateLimit, { global: false, enableDraftSpec: true });
  // One counter per client address for both routes below (this plugin's scope only).
  app.addHook(
    'onRequest',
    app.rateLimit({
      max: options.requestsPerMinutePerClient ?? DEFAULT_DOCS_REQUESTS_PER_MINUTE_PER_CLIENT,
      timeWindow: 60_000,
      keyGenerator: (request: FastifyRequest) => request.ip,
      errorResponseBuilder: (_request, context) =>
        new HttpError(
          429,
          ERROR_CODES.TOO_MANY_REQUESTS,
          `the API documentation allows ${context.max} requests per minute per client; retry in ${Math.max(1, Math.ceil(context.ttl / 1000))} s`,
        ),
    }),
  );

  const merged = async (): Promise<OpenApiDocument> => {
    const fetched = await Promise.all(
      SERVICE_NAMES.map(
        async (service) =>
          [service, await serviceDocument(options.upstreams[service], options.timeoutMs)] as const,
      ),
    );
    const services: ServiceDocuments = {};
    for (const [service, document] of fetched) if (document) services[service] = document;
    return mergeOpenApi(app.swagger() as unknown as OpenApiDocument, services);
  };

  app.get('/docs/openapi.json', { schema: { hide: true } }, async () => current());
  app.get('/docs', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(renderDocsPage(await current())),
  );
};
