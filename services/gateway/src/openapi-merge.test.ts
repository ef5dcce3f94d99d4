import { describe, expect, test } from 'vitest';
import { mergeOpenApi, type OpenApiDocument } from './openapi-merge.ts';

const gateway: OpenApiDocument = {
  openapi: '3.1.0',
  info: { title: 'gateway', version: '0.1.0' },
  paths: { '/health': { get: {} }, '/api/health': { get: { summary: 'Platform health' } } },
};

function serviceDocument(prefix: string, schemas: Record<string, unknown>): OpenApiDocument {
  return {
    openapi: '3.1.0',
    info: { title: prefix, version: '1.0.0' },
    paths: {
      [`${prefix}/items`]: {
        get: {
          responses: {
            200: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Item' } } } },
          },
        },
      },
    },
    components: { schemas },
  };
}

describe('mergeOpenApi', () => {
  test("each service's components are named after it, and its refs follow", () => {
    const merged = mergeOpenApi(gateway, {
      auth: serviceDocument('/api/auth', {
        Item: { type: 'object', properties: { owner: { $ref: '#/components/schemas/User' } } },
        User: { type: 'string' },
      }),
      chat: serviceDocument('/api/chat', {
        Item: { type: 'object', properties: { owner: { $ref: '#/components/schemas/User' } } },
        User: { type: 'integer' },
      }),
    });
    const schemas = merged.components?.schemas ?? {};
    expect(Object.keys(schemas).sort()).toEqual(['auth.Item', 'auth.User', 'chat.Item', 'chat.User']);
    expect(schemas['chat.Item']).toEqual({
      type: 'object',
      properties: { owner: { $ref: '#/components/schemas/chat.User' } },
    });
    expect(schemas['chat.User']).toEqual({ type: 'integer' });
    expect(JSON.stringify(merged.paths?.['/api/auth/items'])).toContain('"#/components/schemas/auth.Item"');
    expect(merged.components?.securitySchemes).toEqual({
      bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
    });
  });

  test('keeps only paths a service owns and the gateway its /api ones; lists missing services', () => {
    const merged = mergeOpenApi(gateway, {
      users: {
        ...serviceDocument('/api/users', {}),
        paths: { '/health': { get: {} }, '/api/users/me': { get: {} }, '/api/chat/x': { get: {} } },
      },
    });
    expect(Object.keys(merged.paths ?? {}).sort()).toEqual(['/api/health', '/api/users/me']);
    expect(merged['x-tenantry-services']).toMatchObject({ users: 'included', auth: 'missing' });
    expect(merged.info.description).toContain('Unavailable when this document was built: auth, chat,');
  });
});
