// Remote commands to a gateway: POST issues one (admin, or staff of the gateway's estate), GET shows it with the
// gateway's answer. The work — signing, expiry, audit, publishing — is in sync/commands.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { actorOf } from '../../core/context.js';
import { DateTime, ErrorBody, ErrorResponses, Uuid } from '../../core/schemas.js';
import {
  COMMAND_ACTIONS,
  issueCommand,
  issueDoorCommand,
  issueEstateCommand,
  readCommand,
} from '../../sync/commands.js';

const WireId = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' });
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

const CommandBody = Type.Object(
  {
    action: Type.Union(COMMAND_ACTIONS.map((a) => Type.Literal(a))),
    doorId: Type.Optional(WireId),
    durationS: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
  },
  { additionalProperties: false },
);

const Duration = Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, description: 'temporary: seconds' }));
const EstateCommandBody = Type.Object(
  { action: Type.Union([Type.Literal('lockdown'), Type.Literal('release')]), durationS: Duration },
  { additionalProperties: false },
);
const DoorCommandBody = Type.Object(
  {
    action: Type.Union(['unlock', 'hold_open', 'lockdown', 'release'].map((a) => Type.Literal(a))),
    durationS: Duration,
  },
  { additionalProperties: false },
);

const Command = Type.Object({
  cmdId: Type.String(),
  gatewayId: Type.String(),
  action: Type.String(),
  doorId: Nullable(Type.String()),
  durationS: Type.Union([Type.Integer(), Type.Null()]),
  issuedBy: Uuid,
  issuerRole: Type.String(),
  issuedAt: DateTime,
  expiresAt: DateTime,
  status: Type.String({ description: 'published | done | refused | failed | undelivered' }),
  reason: Nullable(Type.String()),
  detail: Nullable(Type.String()),
  ackedAt: Nullable(DateTime),
});

const gatewayCommands: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['gateways'];
  app.post(
    '/gateways/:id/commands',
    {
      schema: {
        tags,
        params: Type.Object({ id: WireId }, { additionalProperties: false }),
        body: CommandBody,
        response: { 202: Command, ...ErrorResponses, 409: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const view = await issueCommand(app.deps, actorOf(request), request.params.id, request.body);
      return reply.status(202).send(view);
    },
  );
  // a lockdown (or its release) of every door of an estate: one command per gateway
  app.post(
    '/estates/:id/commands',
    {
      schema: {
        tags,
        params: Type.Object({ id: Uuid }, { additionalProperties: false }),
        body: EstateCommandBody,
        response: { 202: Type.Array(Command), ...ErrorResponses, 409: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) =>
      reply.status(202).send(await issueEstateCommand(app.deps, actorOf(request), request.params.id, request.body)),
  );
  // one door by the access module's door id: remote unlock, temporary hold-open or lockdown, release
  app.post(
    '/access/doors/:id/commands',
    {
      schema: {
        tags,
        params: Type.Object({ id: WireId }, { additionalProperties: false }),
        body: DoorCommandBody,
        response: { 202: Command, ...ErrorResponses, 409: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) =>
      reply
        .status(202)
        .send(
          await issueDoorCommand(
            app.deps,
            actorOf(request),
            request.params.id,
            request.body as { action: 'unlock' | 'hold_open' | 'lockdown' | 'release'; durationS?: number },
          ),
        ),
  );
  app.get(
    '/gateways/:id/commands/:cmdId',
    {
      schema: {
        tags,
        params: Type.Object(
          { id: WireId, cmdId: Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$' }) },
          { additionalProperties: false },
        ),
        response: { 200: Command, ...ErrorResponses },
      },
    },
    async (request) => readCommand(app.deps, actorOf(request).principal, request.params.id, request.params.cmdId),
  );
};
export default gatewayCommands;
