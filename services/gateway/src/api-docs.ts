import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
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
}

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
 * `GET /docs/openapi.json`: the services' OpenAPI documents merged into one, fetched on each call
 * (docs are read rarely, and a redeployed service shows at once); a service that does not answer is
 * listed as missing, not an error. `GET /docs`: the same as a page.
 */
export const apiDocsRoutes: FastifyPluginAsyncTypebox<ApiDocsOptions> = async (app, options) => {
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

  app.get('/docs/openapi.json', { schema: { hide: true } }, async () => merged());
  app.get('/docs', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(renderDocsPage(await merged())),
  );
};
