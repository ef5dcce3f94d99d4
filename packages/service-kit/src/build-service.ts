import cors from '@fastify/cors';
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { createLogger, type Logger, type LogLevel, lazyChild } from '@tenantry/logger';
import { metricsPlugin, type ServiceMetrics } from '@tenantry/metrics';
import { tracing } from '@tenantry/telemetry';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  LogController,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import { draining } from './draining.ts';
import { errorHandling } from './error-handler.ts';
import { DEFAULT_HEALTH_CHECK_TIMEOUT_MS, type DependencyCheck, healthRoute } from './health.ts';
import { openApi } from './openapi.ts';
import { REQUEST_ID_HEADER, requestIdFor } from './request-id.ts';
import { securityHeaders } from './security-headers.ts';

export type ServiceInstance = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** The part of a service's configuration the skeleton needs; services map their env config onto it. */
export interface ServiceConfig {
  /** Browser origins allowed to call the service (`https://app.acme.test`); none by default. */
  corsOrigins?: readonly string[];
  logLevel?: LogLevel;
  /**
   * The proxies (addresses or CIDRs) whose X-Forwarded-For is believed for `request.ip`. Behind the
   * gateway that is the gateway's network; by default nobody, so a client cannot choose the address
   * that per-address limits count against.
   */
  trustProxy?: readonly string[];
}

export interface ServiceOptions {
  /** The service's name as in the platform (`auth`, `users`): in logs, `/health` and the OpenAPI title. */
  name: string;
  /** The service's API version, for the OpenAPI document. */
  version?: string;
  config: ServiceConfig;
  /** The service's own plugins and routes, registered after the skeleton so its handlers apply to them. */
  routes: FastifyPluginAsyncTypebox;
  /** Readiness checks named by dependency (`postgres`, `kafka`), reported by `GET /health`. */
  dependencies?: Readonly<Record<string, DependencyCheck>>;
  /** A logger to use instead of one created from `name` and `config.logLevel`. */
  logger?: Logger;
  /**
   * Metrics to record into instead of a fresh set: a service creates them first when something other
   * than the HTTP layer records too (database query durations, pool usage).
   */
  metrics?: ServiceMetrics;
  healthCheckTimeoutMs?: number;
  /**
   * Runs when the app closes, after in-flight requests finished: the program releases what it
   * started for the service (runtime, telemetry). Hooks cannot be added once this returns.
   */
  onClose?: () => Promise<void>;
}

/** From the security brief: larger bodies are refused with 413 before they are read. */
export const BODY_LIMIT_BYTES = 10 * 1024 * 1024;
export const DEFAULT_VERSION = '0.1.0';

const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * A service's Fastify instance, ready to listen: security headers, CORS, request ids, one error
 * handler, `GET /health`, `GET /metrics`, `GET /openapi.json`, then the service's routes.
 */
export async function buildService(options: ServiceOptions): Promise<ServiceInstance> {
  validate(options);
  const { name, config } = options;
  const logger: FastifyBaseLogger = options.logger ?? createLogger({ service: name, level: config.logLevel });
  const corsOrigins = config.corsOrigins ?? [];

  const app: ServiceInstance = Fastify({
    loggerInstance: logger,
    bodyLimit: BODY_LIMIT_BYTES,
    // An unknown property is an error the client should hear about (additionalProperties: false),
    // not something Fastify's default validator silently drops.
    ajv: { customOptions: { removeAdditional: false } },
    ...(config.trustProxy?.length ? { trustProxy: [...config.trustProxy] } : {}),
    // Fastify would take the header unchecked; requestIdFor validates it first.
    requestIdHeader: false,
    genReqId: requestIdFor,
    // The same key as childFor in @tenantry/logger, so request lines and background lines join up.
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    // A request's logger (and the tenant child services add) is made when it first writes a line.
    childLoggerFactory: (parent, bindings, childOptions) =>
      lazyChild(parent as Logger, bindings, childOptions),
  }).withTypeProvider<TypeBoxTypeProvider>();

  try {
    // First, so every later hook and the handler run inside the request's span (trace context from
    // the caller's traceparent); a no-op unless the program started @tenantry/telemetry.
    await app.register(tracing);
    app.addHook('onRequest', (request, reply, done) => {
      reply.header(REQUEST_ID_HEADER, request.id);
      done();
    });
    await app.register(draining);
    await app.register(securityHeaders);
    await app.register(cors, { origin: corsOrigins.length > 0 ? [...corsOrigins] : false });
    await app.register(errorHandling);
    await app.register(openApi, { title: name, version: options.version ?? DEFAULT_VERSION });
    await app.register(metricsPlugin, options.metrics ? { metrics: options.metrics } : {});
    await app.register(healthRoute, {
      service: name,
      dependencies: options.dependencies ?? {},
      timeoutMs: options.healthCheckTimeoutMs ?? DEFAULT_HEALTH_CHECK_TIMEOUT_MS,
    });
    await app.register(options.routes);
    const { onClose } = options;
    if (onClose) app.addHook('onClose', () => onClose());
    await app.ready();
  } catch (error) {
    await app.close();
    throw error;
  }
  return app;
}

function validate(options: ServiceOptions): void {
  if (!SERVICE_NAME.test(options.name)) {
    throw new TypeError(`buildService: name must be a lowercase name such as "auth", got "${options.name}"`);
  }
  if (typeof options.routes !== 'function')
    throw new TypeError('buildService: routes must be a Fastify plugin');
  (options.config.corsOrigins ?? []).forEach((origin, index) => {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) {
      throw new TypeError(
        `buildService: config.corsOrigins[${index}] must be an origin such as "https://app.acme.test", got "${origin}"`,
      );
    }
  });
  for (const [dependency, check] of Object.entries(options.dependencies ?? {})) {
    if (typeof check !== 'function') {
      throw new TypeError(`buildService: dependencies.${dependency} must be a function returning a promise`);
    }
  }
  const timeout = options.healthCheckTimeoutMs;
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) {
    throw new TypeError(`buildService: healthCheckTimeoutMs must be a positive integer, got ${timeout}`);
  }
}
