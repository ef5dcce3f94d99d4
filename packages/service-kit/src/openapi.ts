import swagger from '@fastify/swagger';
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

export interface OpenApiOptions {
  title: string;
  version: string;
}

export const OPENAPI_PATH = '/openapi.json';

const openApiImpl: FastifyPluginAsync<OpenApiOptions> = async (app, options) => {
  await app.register(swagger, {
    // 3.1 is JSON Schema 2020-12, so TypeBox schemas (nullable as `type: null`) carry over unchanged.
    openapi: { openapi: '3.1.0', info: { title: options.title, version: options.version } },
  });
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
};

/**
 * The OpenAPI document built from the route schemas, at `GET /openapi.json`. Registered before the
 * routes: the swagger plugin only sees routes added after it.
 */
export const openApi = fp(openApiImpl, { name: '@tenantry/service-kit/openapi', fastify: '5.x' });
