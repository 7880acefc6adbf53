// Repair orders, dispatch, ratings, complaints, figures and technicians under /api.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { actorOf } from '../../core/context.js';
import { ErrorResponses, IdParams, Page, Uuid } from '../../core/schemas.js';
import { photoBodyLimit } from './photos.js';
import { scheduleRepairJobs } from './scheduler.js';
import {
  AssignBody,
  Complaint,
  ComplaintBody,
  ComplaintQuery,
  FollowUpBody,
  LatLng,
  ListQuery,
  NoteBody,
  Order,
  OrderDetail,
  PhotoBody,
  RateBody,
  Stats,
  StatsQuery,
  SubmitBody,
  TechnicianBody,
  TechnicianPatch,
  TechnicianSchema,
} from './schemas.js';
import { repairService, type WorkAction } from './service.js';
import { technicianService } from './technicians.js';

const ACTIONS: WorkAction[] = ['accept', 'start', 'complete', 'cancel', 'reopen'];

const repairs: FastifyPluginAsyncTypebox = async (app) => {
  scheduleRepairJobs(app);
  const service = repairService(app.deps);
  const technicians = technicianService(app.deps);
  const tags = ['repairs'];
  const detail = { 200: OrderDetail, ...ErrorResponses };

  app.post(
    '/repairs',
    {
      bodyLimit: photoBodyLimit(3),
      schema: { tags, body: SubmitBody, response: { 201: OrderDetail, ...ErrorResponses } },
    },
    async (request, reply) => reply.status(201).send(await service.submit(actorOf(request), request.body)),
  );
  app.get(
    '/repairs',
    { schema: { tags, querystring: ListQuery, response: { 200: Page(Order), ...ErrorResponses } } },
    async (request) => service.list(actorOf(request), request.query),
  );
  app.get(
    '/repairs/stats',
    { schema: { tags, querystring: StatsQuery, response: { 200: Stats, ...ErrorResponses } } },
    async (request) => service.stats(actorOf(request), request.query),
  );
  app.get('/repairs/:id', { schema: { tags, params: IdParams, response: detail } }, async (request) =>
    service.get(actorOf(request), request.params.id),
  );
  for (const action of ACTIONS) {
    app.post(
      `/repairs/:id/${action}`,
      { schema: { tags, params: IdParams, body: Type.Optional(NoteBody), response: detail } },
      async (request) => service.act(actorOf(request), request.params.id, action, request.body?.note ?? null),
    );
  }
  app.post(
    '/repairs/:id/assign',
    { schema: { tags, params: IdParams, body: AssignBody, response: detail } },
    async (request) => service.assign(actorOf(request), request.params.id, request.body),
  );
  app.post(
    '/repairs/:id/rating',
    { schema: { tags, params: IdParams, body: RateBody, response: detail } },
    async (request) => service.rate(actorOf(request), request.params.id, request.body),
  );
  app.post(
    '/repairs/:id/photos',
    {
      bodyLimit: photoBodyLimit(1),
      schema: { tags, params: IdParams, body: PhotoBody, response: { 201: OrderDetail, ...ErrorResponses } },
    },
    async (request, reply) =>
      reply.status(201).send(await service.addPhoto(actorOf(request), request.params.id, request.body.contentBase64)),
  );
  app.get(
    '/repair-photos/:id',
    {
      schema: {
        tags,
        params: IdParams,
        response: { 200: Type.Unknown({ description: 'the image' }), ...ErrorResponses },
      },
    },
    async (request, reply) => {
      const { bytes, contentType } = await service.readPhoto(actorOf(request), request.params.id);
      return reply.header('content-type', contentType).header('cache-control', 'no-store').send(bytes);
    },
  );
  app.post(
    '/repairs/:id/complaints',
    { schema: { tags, params: IdParams, body: ComplaintBody, response: { 201: Complaint, ...ErrorResponses } } },
    async (request, reply) =>
      reply.status(201).send(await service.complain(actorOf(request), request.params.id, request.body.body)),
  );
  app.get(
    '/complaints',
    { schema: { tags, querystring: ComplaintQuery, response: { 200: Type.Array(Complaint), ...ErrorResponses } } },
    async (request) => service.listComplaints(actorOf(request), request.query),
  );
  app.post(
    '/complaints/:id/follow-up',
    { schema: { tags, params: IdParams, body: FollowUpBody, response: { 200: Complaint, ...ErrorResponses } } },
    async (request) => service.followUp(actorOf(request), request.params.id, request.body),
  );

  const ttags = ['technicians'];
  app.post(
    '/technicians',
    { schema: { tags: ttags, body: TechnicianBody, response: { 201: TechnicianSchema, ...ErrorResponses } } },
    async (request, reply) => reply.status(201).send(await technicians.create(actorOf(request), request.body)),
  );
  app.get(
    '/technicians',
    {
      schema: {
        tags: ttags,
        querystring: Type.Object({ estateId: Type.Optional(Uuid) }, { additionalProperties: false }),
        response: { 200: Type.Array(TechnicianSchema), ...ErrorResponses },
      },
    },
    async (request) => technicians.list(actorOf(request), request.query),
  );
  app.patch(
    '/technicians/:id',
    {
      schema: {
        tags: ttags,
        params: IdParams,
        body: TechnicianPatch,
        response: { 200: TechnicianSchema, ...ErrorResponses },
      },
    },
    async (request) => technicians.update(actorOf(request), request.params.id, request.body),
  );
  app.put(
    '/technicians/me/location',
    { schema: { tags: ttags, body: LatLng, response: { 200: TechnicianSchema, ...ErrorResponses } } },
    async (request) => technicians.locate(actorOf(request), request.body),
  );
  app.put(
    '/buildings/:id/position',
    {
      schema: {
        tags: ttags,
        params: IdParams,
        body: LatLng,
        response: { 200: Type.Object({ buildingId: Uuid, lat: Type.Number(), lng: Type.Number() }), ...ErrorResponses },
      },
    },
    async (request) => technicians.setBuildingPosition(actorOf(request), request.params.id, request.body),
  );
};
export default repairs;
