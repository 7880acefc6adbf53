// Documents of a person (ID card, property certificate), encrypted with the key ring before they reach the blob
// store. Reading one is a read of sensitive data: audited whether allowed or denied.
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { recordAudit } from '../../core/audit.js';
import { authorize } from '../../core/authz.js';
import { actorOf } from '../../core/context.js';
import { AppError, notFound } from '../../core/errors.js';
import { safeFileName } from '../../core/files.js';
import { DateTime, ErrorResponses, IdParams, Uuid } from '../../core/schemas.js';
import { change } from '../../core/tx.js';

const Kind = Type.Union([Type.Literal('id_card'), Type.Literal('property_certificate'), Type.Literal('other')]);
const ContentType = Type.Union([
  Type.Literal('image/jpeg'),
  Type.Literal('image/png'),
  Type.Literal('application/pdf'),
]);
const UploadBody = Type.Object(
  {
    kind: Kind,
    fileName: Type.String({ minLength: 1, maxLength: 100 }),
    contentType: ContentType,
    contentBase64: Type.String({ minLength: 4, pattern: '^[A-Za-z0-9+/]+={0,2}$' }),
  },
  { additionalProperties: false },
);
const Attachment = Type.Object({
  id: Uuid,
  personId: Uuid,
  kind: Type.String(),
  fileName: Type.String(),
  contentType: Type.String(),
  sizeBytes: Type.Integer(),
  createdAt: DateTime,
});
const Uploaded = Type.Composite([
  Attachment,
  Type.Object({ ocr: Type.Optional(Type.Record(Type.String(), Type.String())) }),
]);

interface Row {
  id: string;
  personId: string;
  kind: string;
  fileName: string;
  contentType: string;
  sizeBytes: number;
  createdAt: Date;
}
const view = (a: Row) => ({
  id: a.id,
  personId: a.personId,
  kind: a.kind,
  fileName: a.fileName,
  contentType: a.contentType,
  sizeBytes: a.sizeBytes,
  createdAt: a.createdAt.toISOString(),
});

const attachments: FastifyPluginAsyncTypebox = async (app) => {
  const { prisma, keyRing, blobs, ocr } = app.deps;
  const tags = ['attachments'];
  const personInScope = async (
    request: Parameters<typeof actorOf>[0],
    id: string,
    action: 'attachment:write' | 'attachment:read',
  ) => {
    const actor = actorOf(request);
    const person = await prisma.person.findUnique({ where: { id } });
    if (!person || person.erasedAt) throw notFound('Person');
    authorize(actor.principal, action, { estateId: person.estateId, householdId: person.householdId }, 'Person');
    return { actor, person };
  };

  app.post(
    '/persons/:id/attachments',
    { schema: { tags, params: IdParams, body: UploadBody, response: { 201: Uploaded, ...ErrorResponses } } },
    async (request, reply) => {
      const fileName = safeFileName(request.body.fileName);
      const { actor, person } = await personInScope(request, request.params.id, 'attachment:write');
      const bytes = Buffer.from(request.body.contentBase64, 'base64');
      const id = randomUUID();
      const storageKey = `${person.estateId}/${id}.bin`;
      await blobs.put(storageKey, keyRing.sealBytes(bytes, `attachment:${id}`));
      const row = await change(prisma, actor, async (tx, audit) => {
        const created = await tx.attachment.create({
          data: {
            id,
            estateId: person.estateId,
            personId: person.id,
            kind: request.body.kind,
            fileName,
            contentType: request.body.contentType,
            sizeBytes: bytes.length,
            storageKey,
            sha256: createHash('sha256').update(bytes).digest('hex'),
          },
        });
        await audit({
          action: 'attachment.create',
          entity: 'attachment',
          entityId: id,
          estateId: person.estateId,
          after: view(created),
        });
        return created;
      }).catch(async (err: unknown) => {
        await blobs.delete(storageKey);
        throw err;
      });
      const suggestions =
        request.body.kind === 'id_card' ? await ocr.readIdCard(bytes, request.body.contentType) : undefined;
      const ocrFields = suggestions
        ? Object.fromEntries(Object.entries(suggestions).filter((e): e is [string, string] => typeof e[1] === 'string'))
        : undefined;
      return reply.status(201).send({ ...view(row), ...(ocrFields ? { ocr: ocrFields } : {}) });
    },
  );

  app.get(
    '/persons/:id/attachments',
    { schema: { tags, params: IdParams, response: { 200: Type.Array(Attachment), ...ErrorResponses } } },
    async (request) => {
      const { person } = await personInScope(request, request.params.id, 'attachment:read');
      const rows = await prisma.attachment.findMany({ where: { personId: person.id }, orderBy: { createdAt: 'asc' } });
      return rows.map(view);
    },
  );

  app.get(
    '/attachments/:id',
    {
      schema: {
        tags,
        params: IdParams,
        response: { 200: Type.Unknown({ description: 'the file, decrypted' }), ...ErrorResponses },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const a = await prisma.attachment.findUnique({ where: { id: request.params.id }, include: { person: true } });
      const event = {
        action: 'attachment.read',
        entity: 'attachment',
        entityId: request.params.id,
        estateId: a?.estateId,
      };
      try {
        if (!a) throw notFound('Attachment');
        authorize(
          actor.principal,
          'attachment:read',
          { estateId: a.estateId, householdId: a.person.householdId },
          'Attachment',
        );
      } catch (err) {
        await recordAudit(prisma, actor, { ...event, outcome: 'denied' });
        throw err;
      }
      const bytes = keyRing.openBytes(await blobs.get(a.storageKey), `attachment:${a.id}`);
      if (createHash('sha256').update(bytes).digest('hex') !== a.sha256) throw new AppError('INTERNAL');
      await recordAudit(prisma, actor, event);
      return reply
        .header('content-type', a.contentType)
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(a.fileName)}`)
        .header('cache-control', 'no-store')
        .send(bytes);
    },
  );
};
export default attachments;
