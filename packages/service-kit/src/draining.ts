import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

const drainingImpl: FastifyPluginAsync = async (app) => {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
};

/**
 * Once the app is closing, answers in-flight requests with `Connection: close`. Closing only drops
 * connections idle at that moment; a keep-alive connection that finishes its request afterwards
 * would otherwise stay open until the keep-alive timeout, holding up shutdown.
 */
export const draining = fp(drainingImpl, { name: '@tenantry/service-kit/draining', fastify: '5.x' });
