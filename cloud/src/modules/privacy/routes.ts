import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { authorize } from '../../core/authz.js';
import { actorOf } from '../../core/context.js';
import { ErrorResponses, IdParams } from '../../core/schemas.js';
import { privacyService } from './service.js';

const privacy: FastifyPluginAsyncTypebox = async (app) => {
  const service = privacyService(app.deps);
  const tags = ['privacy'];
  app.get(
    '/persons/:id/export',
    {
      schema: {
        tags,
        params: IdParams,
        response: { 200: Type.Unknown({ description: 'all data held on the person' }), ...ErrorResponses },
      },
    },
    async (request) => service.exportPerson(actorOf(request), request.params.id),
  );
  app.post(
    '/privacy/retention/run',
    {
      schema: {
        tags,
        response: {
          200: Type.Object({ erasedPersons: Type.Integer(), households: Type.Integer() }),
          ...ErrorResponses,
        },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      authorize(actor.principal, 'privacy:retention');
      return service.runRetention(actor);
    },
  );
};
export default privacy;
