import type { TObject } from '@sinclair/typebox';
import type { preValidationAsyncHookHandler } from 'fastify';
import { ERROR_CODES, HttpError } from './http-errors.ts';

/** `a/b~c` → `a~1b~0c` (RFC 6901), so a property name cannot bend the JSON pointer it appears in. */
function pointerSegment(name: string): string {
  return name.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * A preValidation hook answering the two commonest mistakes in a body with a message that lists what
 * may be sent: an undeclared property (a misspelling), or no property at all. The route's validator
 * refuses both too, in schema terms.
 */
export function strictBody(schema: TObject): preValidationAsyncHookHandler {
  const known = new Set(Object.keys(schema.properties));
  const names = [...known].join(', ');
  return async (request) => {
    const body: unknown = request.body;
    // Anything else is not an object: the schema's validation says so.
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
    const properties = Object.keys(body);
    if (properties.length === 0) {
      const message = `/body names nothing to change; it may have ${names}`;
      throw new HttpError(400, ERROR_CODES.VALIDATION_FAILED, message, { field: '/body' });
    }
    const unknown = properties.find((property) => !known.has(property));
    if (unknown !== undefined) {
      const field = `/body/${pointerSegment(unknown)}`;
      const message = `${field} is not a property of this request; it may have ${names}`;
      throw new HttpError(400, ERROR_CODES.VALIDATION_FAILED, message, { field });
    }
  };
}
