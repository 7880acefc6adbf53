// Face enrolment: 1–3 photos of one person become one template (the pooled embedding, with the model id and
// dimension), computed by the same @estate/models pipeline the gateways run. A template exists only under a live
// face_access consent (PIPL art. 29); the photos are analysed in memory and dropped, never stored or logged; the
// embedding is sealed at rest. Withdrawal of consent and move-out delete it here and, through a revocation, on
// every gateway (lifecycle.ts).
import type { FaceAnalysis, FacePipeline } from '@estate/models';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { actorOf } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError } from '../../core/errors.js';
import { DateTime, ErrorResponses, IdParams } from '../../core/schemas.js';
import { change, type Tx } from '../../core/tx.js';
import { hasConsent } from '../consents/service.js';
import { type Acting, personInScope, requireActiveHousehold, wireId } from './common.js';
import { afterCommit, type GalleryItem, queueDesired, revocation } from './desired.js';
import { ensureHouseholdAccess } from './groups.js';

// One pipeline per process, made on the first enrolment (loading the three models takes ~1 s and ~100 MB), shared
// by every app instance in the process and closed when the last one closes.
let pipeline: Promise<FacePipeline> | undefined;
let users = 0;
export async function facePipeline(): Promise<FacePipeline> {
  if (!pipeline) {
    const { FacePipeline } = await import('@estate/models');
    pipeline = FacePipeline.create();
    pipeline.catch(() => {
      pipeline = undefined; // a failed load is tried again by the next enrolment
    });
  }
  return pipeline;
}
async function releasePipeline(): Promise<void> {
  users--;
  if (users > 0 || !pipeline) return;
  const p = pipeline;
  pipeline = undefined;
  await (await p.catch(() => undefined))?.close();
}

const AAD = (id: string) => `face_templates.embedding:${id}`;
const Photo = Type.String({ minLength: 4, maxLength: 4_000_000, pattern: '^[A-Za-z0-9+/]+={0,2}$' });
const EnrolBody = Type.Object(
  { photos: Type.Array(Photo, { minItems: 1, maxItems: 3, description: 'JPEG/PNG/WebP, base64' }) },
  { additionalProperties: false },
);
const Template = Type.Object({
  enrolled: Type.Boolean(),
  templateId: Type.Optional(Type.String()),
  model: Type.Optional(Type.String()),
  dim: Type.Optional(Type.Integer()),
  photosUsed: Type.Optional(Type.Integer()),
  agreement: Type.Optional(Type.Number()),
  createdAt: Type.Optional(DateTime),
});

const REASONS: Record<string, string> = {
  no_face: 'no face found',
  several_faces: 'more than one face; the photo must show only the person',
  too_small: 'the face is too small; come closer',
  too_blurred: 'the face is too blurred',
  image_invalid: 'not a readable JPEG, PNG or WebP image',
  image_too_large: 'the image is too large',
  image_too_small: 'the image is too small',
};

/** The first refused photo, as a reason a person can act on, or undefined when every photo is usable. */
export function photoRefusal(photos: readonly FaceAnalysis[]): AppError | undefined {
  const i = photos.findIndex((a) => !a.ok);
  const a = photos[i];
  if (!a || a.ok) return undefined;
  const reason = a.rejected.reason;
  return new AppError(
    'FACE_REJECTED',
    `${reason}: photo ${i + 1}: ${REASONS[reason] ?? a.rejected.message}`,
    `/body/photos/${i}`,
  );
}

const embeddingWire = (v: Float32Array) => {
  const b = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) b.writeFloatLE(v[i] as number, i * 4);
  return b.toString('base64url');
};

/** A template as the gateways match against it; `embedding` is the opened wire form (base64url float32 LE). */
export const templateItem = (
  t: { id: string; personId: string; model: string; dim: number },
  embedding: string,
): GalleryItem => ({ kind: 'template', id: t.id, personId: t.personId, model: t.model, dim: t.dim, embedding });

/** Deletes a person's template and queues its removal from every gateway; false when there was none. */
export async function removeFaceTemplate(tx: Tx, personId: string, reason: string): Promise<boolean> {
  const t = await tx.faceTemplate.findUnique({ where: { personId } });
  if (!t) return false;
  await tx.faceTemplate.delete({ where: { id: t.id } });
  await queueDesired(tx, t.estateId, 'gallery', { deletes: [{ kind: 'template', id: t.id }] });
  await queueDesired(tx, t.estateId, 'revocations', { upserts: [revocation('template', t.id, reason)] });
  return true;
}

export function faceService(deps: CloudDeps) {
  const { prisma, keyRing } = deps;
  return {
    async enrol(actor: Acting, personId: string, photosB64: string[]) {
      const person = await personInScope(prisma, actor, personId, 'face:enrol');
      await requireActiveHousehold(prisma, person.householdId);
      if (!(await hasConsent(prisma, personId, 'face_access'))) {
        throw new AppError('CONSENT_REQUIRED', 'face enrolment needs the person’s face_access consent');
      }
      const photos = photosB64.map((p) => Buffer.from(p, 'base64'));
      const pipe = await facePipeline();
      const e = await pipe.enrol(photos);
      for (const p of photos) p.fill(0); // the photos go no further than this function
      const refused = photoRefusal(e.photos);
      if (refused) throw refused;
      if (!e.ok) throw new AppError('FACE_REJECTED', `${e.reason}: ${e.message}`, '/body/photos');
      const id = wireId('tpl');
      const model = pipe.models.embedder;
      const embedding = embeddingWire(e.embedding);
      const t = await change(prisma, actor, async (tx, audit) => {
        await removeFaceTemplate(tx, personId, 'replaced');
        const row = await tx.faceTemplate.create({
          data: {
            id,
            estateId: person.estateId,
            personId,
            model,
            dim: e.embedding.length,
            embeddingSealed: keyRing.seal(embedding, AAD(id)),
            photosUsed: e.used,
            agreementMilli: Math.round(e.agreement * 1000),
            createdBy: actor.principal.accountId,
          },
        });
        await ensureHouseholdAccess(tx, person);
        await queueDesired(tx, person.estateId, 'gallery', { upserts: [templateItem(row, embedding)] });
        await audit({
          action: 'face.enrol',
          entity: 'face_template',
          entityId: id,
          estateId: person.estateId,
          after: { personId, model, dim: row.dim, photosUsed: e.used, agreement: row.agreementMilli / 1000 },
        });
        return row;
      });
      await afterCommit(deps);
      return view(t);
    },

    async get(actor: Acting, personId: string) {
      await personInScope(prisma, actor, personId, 'face:enrol');
      const t = await prisma.faceTemplate.findUnique({ where: { personId } });
      return t ? view(t) : { enrolled: false };
    },

    async remove(actor: Acting, personId: string) {
      const person = await personInScope(prisma, actor, personId, 'face:enrol');
      const removed = await change(prisma, actor, async (tx, audit) => {
        const gone = await removeFaceTemplate(tx, personId, 'deleted');
        if (gone) {
          await audit({
            action: 'face.delete',
            entity: 'face_template',
            estateId: person.estateId,
            after: { personId },
          });
        }
        return gone;
      });
      if (!removed) throw new AppError('NOT_FOUND', 'No face template for this person');
      await afterCommit(deps);
    },

    /** The stored embedding, opened (for the full resync of a gateway's gallery). */
    openEmbedding(t: { id: string; embeddingSealed: string }): string {
      return keyRing.open(t.embeddingSealed, AAD(t.id));
    },
  };
}

const view = (t: {
  id: string;
  model: string;
  dim: number;
  photosUsed: number;
  agreementMilli: number;
  createdAt: Date;
}) => ({
  enrolled: true,
  templateId: t.id,
  model: t.model,
  dim: t.dim,
  photosUsed: t.photosUsed,
  agreement: t.agreementMilli / 1000,
  createdAt: t.createdAt.toISOString(),
});

const faceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const s = faceService(app.deps);
  users++;
  app.addHook('onClose', releasePipeline);
  const tags = ['access'];
  app.post(
    '/persons/:id/face',
    {
      bodyLimit: 12 * 1024 * 1024,
      schema: { tags, params: IdParams, body: EnrolBody, response: { 201: Template, ...ErrorResponses } },
    },
    async (req, reply) => reply.status(201).send(await s.enrol(actorOf(req), req.params.id, req.body.photos)),
  );
  app.get(
    '/persons/:id/face',
    { schema: { tags, params: IdParams, response: { 200: Template, ...ErrorResponses } } },
    async (req) => s.get(actorOf(req), req.params.id),
  );
  app.delete('/persons/:id/face', { schema: { tags, params: IdParams } }, async (req, reply) => {
    await s.remove(actorOf(req), req.params.id);
    return reply.status(204).send(null);
  });
};
export default faceRoutes;
