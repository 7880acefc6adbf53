import { join } from 'node:path';
import { FacePipeline } from '@estate/models';
import { encodeEmbedding } from './face/gallery.js';
import { openGatewayDb } from './log/event-log.js';
import { Sealer } from './state/sealer.js';
import { SectionStore } from './state/section-store.js';

/**
 * Local enrolment, until the cloud syncs the gallery: 1–3 photos → one
 * template in the (sealed) gallery section. Only the embedding is stored;
 * the photos are read, analysed and dropped. A running agent picks the
 * template up at its next start.
 */
export async function enrolFromPhotos(
  dataDir: string,
  personId: string,
  photos: Uint8Array[],
): Promise<{ templateId: string; used: number; agreement: number }> {
  const pipeline = await FacePipeline.create();
  try {
    const e = await pipeline.enrol(photos);
    if (!e.ok) throw new Error(`enrolment refused: ${e.message}`);
    const db = openGatewayDb(join(dataDir, 'gateway.db'));
    try {
      const store = new SectionStore(db, Sealer.fromKeyFile(join(dataDir, 'gateway.key')));
      const templateId = `t-${personId}-local`;
      const current = store.version('gallery');
      const r = store.apply({
        section: 'gallery',
        fromVersion: current,
        toVersion: current + 1,
        deletes: [],
        upserts: [
          {
            kind: 'template',
            id: templateId,
            personId,
            model: pipeline.models.embedder,
            dim: e.embedding.length,
            embedding: encodeEmbedding(e.embedding),
          },
        ],
      });
      if (!r.ok) throw new Error(`gallery refused the template: ${r.reason}`);
      return { templateId, used: e.used, agreement: e.agreement };
    } finally {
      db.close();
    }
  } finally {
    await pipeline.close();
  }
}
