import Fastify, { type FastifyInstance } from 'fastify';

/**
 * The peer of the API bench: Fastify's own hello-world (one GET route answering a small JSON object, default
 * options, no logger, no plugins), listening in the same process as the cloud, the way the cloud listens.
 */
export async function startHello(): Promise<{ origin: string; app: FastifyInstance }> {
  const app = Fastify();
  app.get('/', async () => ({ hello: 'world' }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('hello server has no TCP address');
  return { origin: `http://127.0.0.1:${address.port}`, app };
}
