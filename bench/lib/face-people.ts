import { existsSync, readFileSync } from 'node:fs';
import { type FacePipeline, type Photo, photos, photosByPerson } from '@estate/models';

/**
 * Who the face benches enrol and with which photos, shared by face_to_relay,
 * face_vs_faceapi and accuracy so their figures describe the same gallery.
 *
 * Every person with at least two real single-face photos (models/photos.json,
 * kind "photo") is enrolled from their first photo — franck from his first two
 * video frames, as the demo estate does — and the rest of their photos are
 * probes the template never saw (except a mere crop of the enrolment photo).
 * People with a single photo are strangers.
 */
export interface Resident {
  label: string;
  personId: string;
  /** the photos the template was made from */
  enrolled: readonly Photo[];
  /** photos of the same person that did not go into the template */
  probes: readonly Photo[];
  embedding: Float32Array;
}

export interface FaceCast {
  residents: readonly Resident[];
  /** real single-face photos of people who are not enrolled */
  strangers: readonly Photo[];
  /** pictures that are not a person to recognise: paintings, masks, drawings, synthetic faces, group photos */
  others: readonly Photo[];
  /** enrolment refusals, e.g. a person whose photos disagree (none with the shipped models) */
  refused: readonly { label: string; reason: string }[];
}

/** photos.json: the identity of the costume photo is unverified, so it is only ever a probe, never a template. */
const NOT_A_TEMPLATE: ReadonlySet<string> = new Set(['sean_guru2_crop.jpg']);
/** photos.json: a tighter crop of another photo is the same picture, not evidence that a person is recognised. */
const SAME_PICTURE: readonly (readonly string[])[] = [['audrey.jpg', 'audrey_crop.jpg']];
const samePicture = (a: Photo, b: Photo) => SAME_PICTURE.some((g) => g.includes(a.file) && g.includes(b.file));

export const personIdOf = (label: string) => `p-${label}`;

export function readPhoto(p: Photo): Buffer {
  if (!existsSync(p.path)) {
    throw new Error(`test photo ${p.file} is missing: run \`npm run fetch -w @estate/models\` (models/README.md)`);
  }
  return readFileSync(p.path);
}

/** Enrols the cast with the pipeline the gateway uses (enrol(): quality gates, one face, template only). */
export async function enrolCast(pipeline: FacePipeline): Promise<FaceCast> {
  const byPerson = photosByPerson();
  const residents: Resident[] = [];
  const strangers: Photo[] = [];
  const refused: { label: string; reason: string }[] = [];
  for (const [label, list] of byPerson) {
    if (list.length < 2) {
      strangers.push(...list);
      continue;
    }
    const take = label === 'franck' ? 2 : 1;
    const ordered = [
      ...list.filter((p) => !NOT_A_TEMPLATE.has(p.file)),
      ...list.filter((p) => NOT_A_TEMPLATE.has(p.file)),
    ];
    const enrolled = ordered.slice(0, take);
    const enrolment = await pipeline.enrol(enrolled.map(readPhoto));
    if (!enrolment.ok) {
      refused.push({ label, reason: enrolment.message });
      continue;
    }
    residents.push({
      label,
      personId: personIdOf(label),
      enrolled,
      probes: ordered.slice(take).filter((p) => !enrolled.some((e) => samePicture(e, p))),
      embedding: enrolment.embedding,
    });
  }
  if (residents.length === 0) throw new Error('no resident could be enrolled from models/photos');
  const people = new Set([...byPerson.values()].flat().map((p) => p.file));
  const others = photos().filter((p) => !people.has(p.file) && p.kind !== 'annotated');
  return { residents, strangers, others, refused };
}

/** A random unit vector, uniform on the sphere (normalised Gaussian coordinates, Box–Muller). */
export function randomUnitVector(dim: number, random: () => number): Float32Array {
  const v = new Float32Array(dim);
  let norm = 0;
  for (let i = 0; i < dim; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const theta = 2 * Math.PI * random();
    const x = r * Math.cos(theta);
    const y = r * Math.sin(theta);
    v[i] = x;
    norm += x * x;
    if (i + 1 < dim) {
      v[i + 1] = y;
      norm += y * y;
    }
  }
  const inv = 1 / Math.sqrt(norm);
  for (let i = 0; i < dim; i++) v[i] = (v[i] as number) * inv;
  return v;
}

export { prng as seededRandom } from './random.js';
