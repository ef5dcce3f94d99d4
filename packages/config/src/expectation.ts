import { type TSchema, TypeGuard } from '@sinclair/typebox';

/**
 * What a variable must be, in words, for error messages ("an integer from 1 to 65535"). Returns
 * undefined for a schema no environment string can satisfy, which `defineConfig` rejects.
 */
export function describeExpectation(schema: TSchema): string | undefined {
  if (TypeGuard.IsInteger(schema)) return `an integer${describeRange(schema.minimum, schema.maximum)}`;
  if (TypeGuard.IsNumber(schema)) return `a number${describeRange(schema.minimum, schema.maximum)}`;
  if (TypeGuard.IsBoolean(schema)) return 'true or false';
  if (TypeGuard.IsLiteral(schema)) return JSON.stringify(schema.const);
  if (TypeGuard.IsUnionLiteral(schema)) return `one of ${schema.anyOf.map((s) => s.const).join(', ')}`;
  if (TypeGuard.IsString(schema)) return describeString(schema);
  return undefined;
}

function describeRange(minimum: number | undefined, maximum: number | undefined): string {
  if (minimum !== undefined && maximum !== undefined) return ` from ${minimum} to ${maximum}`;
  if (minimum !== undefined) return ` of at least ${minimum}`;
  if (maximum !== undefined) return ` of at most ${maximum}`;
  return '';
}

function describeString(schema: {
  format?: string;
  pattern?: string;
  minLength?: number;
  expectation?: string;
}): string {
  // A schema may say it in words where its pattern would be cryptic: { pattern, expectation: 'an http(s) URL or empty' }.
  if (schema.expectation !== undefined) return schema.expectation;
  if (schema.format === 'url') return 'a URL';
  if (schema.format !== undefined) return `a ${schema.format}`;
  if (schema.pattern !== undefined) return `a string matching /${schema.pattern}/`;
  if (schema.minLength !== undefined && schema.minLength > 0) {
    return `a string of at least ${schema.minLength} characters`;
  }
  return 'a string';
}
