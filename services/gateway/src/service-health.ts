import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { SERVICE_NAMES, type ServiceName, type Upstreams } from './upstreams.ts';

/**
 * healthy: `/health` answered 2xx; unhealthy: it answered otherwise; unreachable: no answer in time;
 * not_deployed: the gateway is configured without it (not counted as down).
 */
export type ServiceState = 'healthy' | 'unhealthy' | 'unreachable' | 'not_deployed';

export interface ServiceHealthOptions {
  upstreams: Upstreams;
  timeoutMs: number;
}

const ServiceStateSchema = Type.Union([
  Type.Literal('healthy'),
  Type.Literal('unhealthy'),
  Type.Literal('unreachable'),
  Type.Literal('not_deployed'),
]);
const PlatformHealth = Type.Object({
  gateway: Type.Literal('healthy'),
  services: Type.Record(Type.String(), ServiceStateSchema),
});

async function serviceState(baseUrl: string | null, timeoutMs: number): Promise<ServiceState> {
  if (baseUrl === null) return 'not_deployed';
  let response: Response;
  try {
    response = await fetch(new URL('/health', baseUrl), { signal: AbortSignal.timeout(timeoutMs) });
  } catch {
    return 'unreachable';
  }
  // Only the status matters; the body would hold the connection until read.
  await response.body?.cancel().catch(() => {});
  return response.ok ? 'healthy' : 'unhealthy';
}

/**
 * `GET /api/health`: the gateway and every deployed service's own `/health`, asked at once with a
 * short timeout; 200 when all of them are healthy, else 503. Anyone may call it, so concurrent calls share one
 * round of checks rather than each fanning out to every service.
 */
export const serviceHealthRoute: FastifyPluginAsyncTypebox<ServiceHealthOptions> = async (app, options) => {
  let round: Promise<Record<ServiceName, ServiceState>> | undefined;
  const checkAll = async () => {
    const states = await Promise.all(
      SERVICE_NAMES.map(
        async (service) =>
          [service, await serviceState(options.upstreams[service], options.timeoutMs)] as const,
      ),
    );
    return Object.fromEntries(states) as Record<ServiceName, ServiceState>;
  };

  app.get(
    '/api/health',
    {
      schema: {
        summary: 'Health of the gateway and of every service behind it',
        response: { 200: PlatformHealth, 503: PlatformHealth },
      },
    },
    async (request, reply) => {
      round ??= checkAll().finally(() => {
        round = undefined;
      });
      const services = await round;
      const down = Object.entries(services).filter(
        ([, state]) => state !== 'healthy' && state !== 'not_deployed',
      );
      if (down.length > 0) request.log.warn({ services: Object.fromEntries(down) }, 'services not healthy');
      return reply.code(down.length === 0 ? 200 : 503).send({ gateway: 'healthy', services });
    },
  );
};
