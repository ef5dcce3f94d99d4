import { TENANT_HEADER } from '@tenantry/identity';
import { isPublicRoute } from './public-routes.ts';
import { SERVICE_NAMES, type ServiceName, servicePrefix } from './upstreams.ts';

/** The parts of an OpenAPI 3.1 document the merge reads; everything else is carried as it is. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths?: Record<string, Record<string, unknown>>;
  components?: Record<string, Record<string, unknown>>;
  tags?: { name: string }[];
  [extension: string]: unknown;
}

export type ServiceDocuments = Partial<Record<ServiceName, OpenApiDocument>>;

/** The keys of a path item that are operations. */
export const HTTP_METHODS: ReadonlySet<string> = new Set([
  'get',
  'put',
  'post',
  'delete',
  'options',
  'head',
  'patch',
  'trace',
]);
export const BEARER_SCHEME = 'bearerAuth';

export function isOpenApiDocument(value: unknown): value is OpenApiDocument {
  const document = value as Partial<OpenApiDocument> | null;
  return (
    typeof document?.openapi === 'string' &&
    typeof document.info === 'object' &&
    (document.paths === undefined || (typeof document.paths === 'object' && document.paths !== null))
  );
}

/** `{"$ref": "#/components/schemas/User"}` anywhere in `value`, renamed where `renames` says. */
function renameRefs(value: unknown, renames: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => renameRefs(item, renames));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      key === '$ref' && typeof item === 'string' ? (renames.get(item) ?? item) : renameRefs(item, renames),
    ]),
  );
}

/**
 * An operation as clients of the gateway see it: without the tenant header (the gateway sets it from
 * the Host) and, for the routes the gateway lets through without a token, with no security.
 */
function edgeOperation(method: string, path: string, operation: unknown): unknown {
  if (typeof operation !== 'object' || operation === null) return operation;
  const edge: Record<string, unknown> = { ...operation };
  if (Array.isArray(edge.parameters)) {
    edge.parameters = edge.parameters.filter(
      (parameter: { in?: unknown; name?: unknown }) =>
        !(parameter?.in === 'header' && String(parameter.name).toLowerCase() === TENANT_HEADER),
    );
  }
  if (edge.security === undefined && isPublicRoute(method.toUpperCase(), path)) edge.security = [];
  return edge;
}

/**
 * One document for the whole API: the gateway's own `/api` paths and each service's paths under its
 * prefix (a service's `/health` or `/metrics` is not reachable through the gateway), their components
 * under the service's name, bearer authentication as the default, and under `x-tenantry-services`
 * which services were included and which were missing.
 */
export function mergeOpenApi(gateway: OpenApiDocument, services: ServiceDocuments): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  const components: Record<string, Record<string, unknown>> = {
    securitySchemes: { [BEARER_SCHEME]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
  };
  const tags = new Map<string, { name: string }>();
  const included: Record<string, 'included' | 'missing'> = {};

  const add = (document: OpenApiDocument, owns: (path: string) => boolean, service?: ServiceName) => {
    // A service's components are named `<service>.<Name>`: services name their schemas independently,
    // and one's `User` need not be another's. Security schemes are referred to by name, not $ref, so
    // they keep theirs (the first definition of a name wins).
    const mergedName = (section: string, name: string) =>
      service && section !== 'securitySchemes' ? `${service}.${name}` : name;
    const renames = new Map<string, string>();
    for (const [section, entries] of Object.entries(document.components ?? {})) {
      for (const name of Object.keys(entries)) {
        const merged = mergedName(section, name);
        if (merged !== name)
          renames.set(`#/components/${section}/${name}`, `#/components/${section}/${merged}`);
      }
    }
    for (const [section, entries] of Object.entries(document.components ?? {})) {
      const mergedEntries = components[section] ?? {};
      for (const [name, definition] of Object.entries(entries)) {
        mergedEntries[mergedName(section, name)] ??= renameRefs(definition, renames);
      }
      components[section] = mergedEntries;
    }
    for (const [path, item] of Object.entries(document.paths ?? {})) {
      if (!owns(path)) continue;
      paths[path] = Object.fromEntries(
        Object.entries(renameRefs(item, renames) as Record<string, unknown>).map(([key, value]) => [
          key,
          HTTP_METHODS.has(key) ? edgeOperation(key, path, value) : value,
        ]),
      );
    }
    for (const tag of document.tags ?? []) if (!tags.has(tag.name)) tags.set(tag.name, tag);
  };

  add(gateway, (path) => path.startsWith('/api/'));
  for (const service of SERVICE_NAMES) {
    const document = services[service];
    included[service] = document ? 'included' : 'missing';
    const prefix = servicePrefix(service);
    if (document) add(document, (path) => path === prefix || path.startsWith(`${prefix}/`), service);
  }

  const missing = SERVICE_NAMES.filter((service) => included[service] === 'missing');
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tenantry API',
      version: gateway.info.version,
      description:
        'Every service of the platform behind the gateway. The tenant is the Host you call; send ' +
        '`Authorization: Bearer <access token>` of that tenant except where an operation says otherwise.' +
        (missing.length > 0 ? ` Unavailable when this document was built: ${missing.join(', ')}.` : ''),
    },
    paths,
    components,
    security: [{ [BEARER_SCHEME]: [] }],
    ...(tags.size > 0 ? { tags: [...tags.values()] } : {}),
    'x-tenantry-services': included,
  };
}
