// Photos of an order: added after submission, read back by whoever may see the order.
// Repair orders (报修工单): submission, the status machine, dispatch, ratings, complaints and figures.
// Every change goes through `change()` so the order, its transition row and its audit row commit together; a
// transition updates `WHERE status = <from>`, so two people acting at once cannot both move the same order.
import { createHash } from 'node:crypto';
import { recordAudit } from '../../core/audit.js';
import { AppError, notFound } from '../../core/errors.js';
import { change } from '../../core/tx.js';
import { OPEN, type Status } from './categories.js';
import { checkPhoto, MAX_PHOTOS } from './photos.js';
import type { Acting, RepairScope } from './scope.js';

export function photoOps(scope: RepairScope) {
  const { prisma, blobs, keyRing, inScopeOrder, storePhotos, detail } = scope;
  return {
    async addPhoto(actor: Acting, id: string, contentBase64: string) {
      const photo = checkPhoto(contentBase64, '/body/contentBase64');
      const o = await inScopeOrder(actor, id, 'repair:read');
      const p = actor.principal;
      if (p.role === 'technician' && o.technician?.accountId !== p.accountId) throw new AppError('NOT_ASSIGNEE');
      if (!OPEN.includes(o.status as Status) && o.status !== 'completed') {
        throw new AppError('ILLEGAL_TRANSITION', `photos cannot be added to a ${o.status} order`);
      }
      if ((await prisma.repairPhoto.count({ where: { orderId: id } })) >= MAX_PHOTOS * 3) {
        throw new AppError('CONFLICT', 'the order has as many photos as it may hold');
      }
      const stored = await storePhotos(o.id, o.estateId, [photo]);
      try {
        await change(prisma, actor, async (tx, audit) => {
          await tx.repairPhoto.createMany({ data: stored.rows });
          await audit({
            action: 'repair.photo_add',
            entity: 'repair_order',
            entityId: o.id,
            estateId: o.estateId,
            after: { photoId: stored.rows[0]?.id, contentType: photo.contentType, sizeBytes: photo.bytes.length },
          });
        });
      } catch (err) {
        await stored.undo();
        throw err;
      }
      return detail(actor, id);
    },

    async readPhoto(actor: Acting, photoId: string) {
      const ph = await prisma.repairPhoto.findUnique({ where: { id: photoId } });
      if (!ph) throw notFound('Photo');
      await inScopeOrder(actor, ph.orderId, 'repair:read');
      const bytes = keyRing.openBytes(await blobs.get(ph.storageKey), `repair-photo:${ph.id}`);
      if (createHash('sha256').update(bytes).digest('hex') !== ph.sha256) throw new AppError('INTERNAL');
      await recordAudit(prisma, actor, {
        action: 'repair.photo_read',
        entity: 'repair_photo',
        entityId: ph.id,
        estateId: ph.estateId,
      });
      return { bytes, contentType: ph.contentType };
    },
  };
}
