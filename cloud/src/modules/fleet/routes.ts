// The device fleet API: gateway records with claim codes (installers, staff, admin), the public provisioning
// endpoint a new box calls with its claim code, device pairing, and the routes a gateway signs for itself.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { actorOf } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { ErrorBody, ErrorResponses, NoContent } from '../../core/schemas.js';
import { gatewayAuthenticator, rawBodies } from './gateway-auth.js';
import { pairingService } from './pairing.js';
import { provisionGateway, rotateCredentials } from './provision.js';
import {
  ClaimCode,
  ClaimCodeBody,
  CreatedGateway,
  CreateGatewayBody,
  Credentials,
  DeviceParams,
  EstateParams,
  GatewayDetail,
  GatewayParams,
  GatewaySelf,
  GatewaySummary,
  PairBody,
  PairedDevice,
  ProvisionBody,
  Provisioned,
} from './schemas.js';
import { fleetService } from './service.js';
import { deviceView } from './views.js';

const FleetErrors = { ...ErrorResponses, 409: ErrorBody, 410: ErrorBody, 429: ErrorBody };
/** The address the caller reached us at: what a box on the same network should be told to claim against. */
const cloudUrlOf = (request: FastifyRequest) => `${request.protocol}://${request.host}`;

const fleet: FastifyPluginAsyncTypebox = async (app) => {
  const service = fleetService(app.deps);
  const pairing = pairingService(app.deps);
  const asGateway = gatewayAuthenticator(app.deps);
  const tags = ['fleet'];
  const signed = [{ gatewaySignature: [] }];

  // This plugin's JSON keeps the raw text too: a gateway's signature covers the body exactly as sent.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    rawBodies.set(request, text);
    if (text === '') return done(new AppError('MALFORMED_JSON'), undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new AppError('MALFORMED_JSON'), undefined);
    }
  });

  app.post(
    '/estates/:estateId/gateways',
    {
      schema: {
        tags,
        params: EstateParams,
        body: CreateGatewayBody,
        response: { 201: CreatedGateway, ...FleetErrors },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await service.create(actorOf(request), request.params.estateId, request.body, cloudUrlOf(request))),
  );
  app.get(
    '/estates/:estateId/gateways',
    { schema: { tags, params: EstateParams, response: { 200: Type.Array(GatewaySummary), ...FleetErrors } } },
    async (request) => service.list(actorOf(request), request.params.estateId),
  );
  app.get(
    '/gateways/:id',
    { schema: { tags, params: GatewayParams, response: { 200: GatewayDetail, ...FleetErrors } } },
    async (request) => service.detail(actorOf(request), request.params.id),
  );
  app.post(
    '/gateways/:id/claim-code',
    { schema: { tags, params: GatewayParams, body: ClaimCodeBody, response: { 201: ClaimCode, ...FleetErrors } } },
    async (request, reply) =>
      reply
        .status(201)
        .send(
          await service.reissueClaim(
            actorOf(request),
            request.params.id,
            request.body.claimTtlHours,
            cloudUrlOf(request),
          ),
        ),
  );
  app.post(
    '/gateways/:id/retire',
    { schema: { tags, params: GatewayParams, response: { 200: GatewayDetail, ...FleetErrors } } },
    async (request) => service.retire(actorOf(request), request.params.id),
  );

  app.post(
    '/gateways/provision',
    {
      // no login: the claim code is the credential. Throttled like logins, against guessing.
      config: { public: true, rateLimit: { max: app.deps.config.loginRateLimitPerMinute, timeWindow: 60_000 } },
      schema: { tags, security: [], body: ProvisionBody, response: { 200: Provisioned, ...FleetErrors } },
    },
    async (request) =>
      provisionGateway(app.deps, request.body, {
        requestId: request.id,
        ip: request.ip,
        requestHost: request.hostname,
        log: request.log,
      }),
  );

  app.post(
    '/gateways/:id/devices',
    { schema: { tags, params: GatewayParams, body: PairBody, response: { 201: PairedDevice, ...FleetErrors } } },
    async (request, reply) => {
      const actor = actorOf(request);
      const g = await service.load(actor, request.params.id, 'gateway:manage');
      return reply.status(201).send(await pairing.pair(actor, g, request.body));
    },
  );
  app.delete(
    '/gateways/:id/devices/:deviceId',
    { schema: { tags, params: DeviceParams, response: { ...NoContent, ...FleetErrors } } },
    async (request, reply) => {
      const actor = actorOf(request);
      const g = await service.load(actor, request.params.id, 'gateway:manage');
      await pairing.unpair(actor, g, request.params.deviceId);
      return reply.status(204).send(null);
    },
  );

  // — signed by the gateway itself (estate-gateway pair / self-test) —
  const gatewayOnly = { public: true, rateLimit: { max: 120, timeWindow: 60_000 } };
  app.get(
    '/gateways/:id/self',
    {
      config: gatewayOnly,
      schema: { tags, security: signed, params: GatewayParams, response: { 200: GatewaySelf, ...FleetErrors } },
    },
    async (request) => {
      const { gateway: g } = await asGateway(request, request.params.id);
      const devices = await app.deps.prisma.gatewayDevice.findMany({
        where: { gatewayId: g.id },
        orderBy: { deviceId: 'asc' },
      });
      return {
        gatewayId: g.id,
        estateId: g.estateId,
        status: g.status as 'active',
        online: g.online,
        lastSeenAt: g.lastSeenAt?.toISOString() ?? null,
        devices: devices.map(deviceView),
      };
    },
  );
  app.post(
    '/gateways/:id/self/credentials',
    {
      config: gatewayOnly,
      schema: {
        tags,
        security: signed,
        params: GatewayParams,
        description:
          'A new MQTT secret for the calling gateway (estate-gateway credentials --rotate); the old one stops working.',
        response: { 200: Credentials, ...FleetErrors },
      },
    },
    async (request) => {
      const { gateway, actor } = await asGateway(request, request.params.id);
      return rotateCredentials(app.deps, gateway, actor, request.hostname);
    },
  );
  app.post(
    '/gateways/:id/self/devices',
    {
      config: gatewayOnly,
      schema: {
        tags,
        security: signed,
        params: GatewayParams,
        body: PairBody,
        response: { 201: PairedDevice, ...FleetErrors },
      },
    },
    async (request, reply) => {
      const { gateway, actor } = await asGateway(request, request.params.id);
      return reply.status(201).send(await pairing.pair(actor, gateway, request.body));
    },
  );
  app.delete(
    '/gateways/:id/self/devices/:deviceId',
    {
      config: gatewayOnly,
      schema: { tags, security: signed, params: DeviceParams, response: { ...NoContent, ...FleetErrors } },
    },
    async (request, reply) => {
      const { gateway, actor } = await asGateway(request, request.params.id);
      await pairing.unpair(actor, gateway, request.params.deviceId);
      return reply.status(204).send(null);
    },
  );
};
export default fleet;
