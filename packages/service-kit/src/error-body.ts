import { type Static, Type } from '@sinclair/typebox';

/** The body of every error response; declare it for each 4xx a route can answer. */
export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String({ description: 'Stable machine-readable code, e.g. VALIDATION_FAILED' }),
    message: Type.String({ description: 'Human-readable; never contains internals' }),
    field: Type.Optional(
      Type.String({ description: 'JSON pointer to the input at fault, e.g. /body/email' }),
    ),
    requestId: Type.String({ description: 'Quote it when reporting a problem; it is in every log line' }),
  }),
});
export type ErrorBody = Static<typeof ErrorBody>;

/** `errorResponses(400, 404)` → `{ 400: ErrorBody, 404: ErrorBody }`, for a route's `response` schema. */
export function errorResponses<const S extends number>(...statusCodes: S[]): Record<S, typeof ErrorBody> {
  // fromEntries cannot know the keys are exactly the given codes.
  return Object.fromEntries(statusCodes.map((status) => [status, ErrorBody])) as Record<S, typeof ErrorBody>;
}
