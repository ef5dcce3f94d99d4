export {
  BODY_LIMIT_BYTES,
  buildService,
  DEFAULT_VERSION,
  type ServiceConfig,
  type ServiceInstance,
  type ServiceOptions,
} from './build-service.ts';
export { ErrorBody, errorResponses } from './error-body.ts';
export { INTERNAL_MESSAGE } from './error-handler.ts';
export { DEFAULT_HEALTH_CHECK_TIMEOUT_MS, type DependencyCheck } from './health.ts';
export { ERROR_CODES, HttpError, httpErrors } from './http-errors.ts';
export { decodeCursor, encodeCursor, type ListPosition } from './list-cursor.ts';
export { OPENAPI_PATH } from './openapi.ts';
export { DEFAULT_HOST, DEFAULT_SHUTDOWN_TIMEOUT_MS } from './process-defaults.ts';
export { REQUEST_ID_HEADER } from './request-id.ts';
export { type Program, type RunningProgram, type RunProgramOptions, runProgram } from './run-program.ts';
export { strictBody } from './strict-body.ts';
