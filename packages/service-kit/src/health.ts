import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';

/** Resolves when the dependency can serve (a `SELECT 1`, a metadata request); rejects otherwise. */
export type DependencyCheck = () => Promise<void>;

export interface HealthOptions {
  service: string;
  dependencies: Readonly<Record<string, DependencyCheck>>;
  /** A check still running after this long counts as down: a hung database must not hang the probe. */
  timeoutMs: number;
}

/** Below the kubelet's default probe timeout (1 s) would fail healthy but loaded pods; 2 s is typical. */
export const DEFAULT_HEALTH_CHECK_TIMEOUT_MS = 2_000;

const CheckState = Type.Union([Type.Literal('up'), Type.Literal('down')]);
const HealthBody = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('unhealthy')]),
  service: Type.String(),
  checks: Type.Record(Type.String(), CheckState),
});

const LiveBody = Type.Object({ status: Type.Literal('alive'), service: Type.String() });

/**
 * `GET /health`: 200 when every declared dependency answers, else 503 naming the ones down — for
 * readiness. `GET /livez`: 200 while the process serves HTTP at all, whatever its dependencies — for
 * liveness, so an outage of Kafka or PostgreSQL takes pods out of rotation instead of restarting them
 * all into crash-loop back-off.
 */
export const healthRoute: FastifyPluginAsyncTypebox<HealthOptions> = async (app, options) => {
  app.get(
    '/livez',
    {
      schema: {
        summary: 'Liveness: the process serves HTTP (no dependency checked)',
        response: { 200: LiveBody },
      },
    },
    async () => ({ status: 'alive' as const, service: options.service }),
  );
  const entries = Object.entries(options.dependencies);
  app.get(
    '/health',
    {
      schema: {
        summary: 'Readiness of the service and of each dependency it declared',
        response: { 200: HealthBody, 503: HealthBody },
      },
    },
    async (request, reply) => {
      const states = await Promise.all(
        entries.map(async ([name, check]) => {
          try {
            await withTimeout(check(), options.timeoutMs, name);
            return [name, 'up'] as const;
          } catch (error) {
            request.log.warn({ err: error, dependency: name }, 'dependency check failed');
            return [name, 'down'] as const;
          }
        }),
      );
      const healthy = states.every(([, state]) => state === 'up');
      return reply.code(healthy ? 200 : 503).send({
        status: healthy ? 'healthy' : 'unhealthy',
        service: options.service,
        checks: Object.fromEntries(states),
      });
    },
  );
};

async function withTimeout(check: Promise<void>, timeoutMs: number, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
