import { normalise, similarity } from './embed.js';
import type { FaceAnalysis } from './result.js';

export const MAX_ENROL_PHOTOS = 3;

export type Enrolment =
  | {
      ok: true;
      /** mean of the photos' normalised embeddings, re-normalised */
      embedding: Float32Array;
      /** one analysis per photo, in order; rejected ones say why */
      photos: FaceAnalysis[];
      /** photos whose face went into the template */
      used: number;
      /** lowest cosine between two used photos (1 with a single photo) */
      agreement: number;
    }
  | { ok: false; reason: 'no_usable_photo' | 'photos_disagree'; message: string; photos: FaceAnalysis[] };

/** Pools the accepted faces of an enrolment into one template; see FacePipeline.enrol. */
export function combineEnrolment(photos: FaceAnalysis[], matchThreshold: number): Enrolment {
  const used = photos.flatMap((a, index) => (a.ok ? [{ index, embedding: a.face.embedding }] : []));
  if (used.length === 0) {
    const reasons = photos.map((a, i) => `photo ${i + 1}: ${a.ok ? 'ok' : a.rejected.reason}`).join(', ');
    return { ok: false, reason: 'no_usable_photo', message: `no photo has a usable face (${reasons})`, photos };
  }
  let agreement = 1;
  const disagreeing: string[] = [];
  for (let i = 0; i < used.length; i++) {
    for (let j = i + 1; j < used.length; j++) {
      const a = used[i];
      const b = used[j];
      if (!a || !b) continue;
      const score = similarity(a.embedding, b.embedding);
      agreement = Math.min(agreement, score);
      if (score < matchThreshold) disagreeing.push(`photos ${a.index + 1} and ${b.index + 1}: ${score.toFixed(3)}`);
    }
  }
  if (disagreeing.length > 0) {
    return {
      ok: false,
      reason: 'photos_disagree',
      message: `the photos do not look like one person at threshold ${matchThreshold} (${disagreeing.join('; ')})`,
      photos,
    };
  }
  const dim = used[0]?.embedding.length ?? 0;
  const mean = new Float32Array(dim);
  for (const { embedding } of used)
    for (let k = 0; k < dim; k++) mean[k] = (mean[k] as number) + (embedding[k] as number);
  // the mean of unit vectors is non-zero here: every pair agreed above the threshold
  const embedding = normalise(mean) ?? mean;
  return { ok: true, embedding, photos, used: used.length, agreement };
}
