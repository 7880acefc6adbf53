import { Gallery } from '@estate/edge';
import { FacePipeline, type Photo, photosByPerson, similarity } from '@estate/models';
import { type Bench, defineBench } from '../lib/bench.js';
import { enrolCast, randomUnitVector, readPhoto, seededRandom } from '../lib/face-people.js';
import { emit, progress } from '../lib/io.js';
import type { OptionSpecs, OptionValues } from '../lib/options.js';
import { percentile } from '../lib/stats.js';

const OPTIONS = {
  pad: {
    kind: 'int',
    default: 0,
    min: 0,
    max: 200_000,
    help: 'random unit vectors added to the gallery, so the 1:N search runs against residents + pad templates',
  },
} satisfies OptionSpecs;

type Options = OptionValues<typeof OPTIONS>;

interface Scored {
  photo: string;
  /** the person in the photo (photos.json label) */
  label: string;
  /** the resident's template it was compared with */
  template: string;
  score: number;
}

const r3 = (v: number) => Math.round(v * 1000) / 1000;

/** n, min, p05, p50, p95, max of cosine scores (nearest rank, as the latency figures). */
function distribution(scores: readonly number[]) {
  const sorted = [...scores].sort((a, b) => a - b);
  if (sorted.length === 0) return { n: 0 } as Record<string, number>;
  const at = (p: number) => r3(percentile(sorted, p));
  return {
    n: sorted.length,
    min: r3(sorted[0] as number),
    p05: at(5),
    p50: at(50),
    p95: at(95),
    max: r3(sorted.at(-1) as number),
  };
}

/**
 * Accuracy evidence at the configured threshold, the way the gateway decides:
 * residents enrolled with FacePipeline.enrol (bench/lib/face-people.ts), then
 * every other picture analysed and searched 1:N in the edge Gallery. Genuine
 * probes are residents' photos that did not go into their template; impostors
 * are everyone and everything else that yields a face: people who are not
 * enrolled, and paintings, masks, drawings, synthetic and group photos.
 */
async function run(o: Options): Promise<void> {
  const pipeline = await FacePipeline.create();
  try {
    const threshold = pipeline.matchThreshold;
    const cast = await enrolCast(pipeline);
    for (const r of cast.refused) progress(`accuracy: ${r.label} not enrolled: ${r.reason}`);
    const dim = cast.residents[0]?.embedding.length ?? 512;
    const gallery = new Gallery(dim, cast.residents.length + o.pad);
    for (const r of cast.residents) gallery.upsert(`t-${r.label}`, r.personId, r.embedding);
    const random = seededRandom(0xacc);
    for (let i = 0; i < o.pad; i++) gallery.upsert(`t-pad-${i}`, `p-pad-${i}`, randomUnitVector(dim, random));
    progress(
      `accuracy: ${cast.residents.length} residents enrolled (${cast.residents
        .map((r) => `${r.label} from ${r.enrolled.length}`)
        .join(', ')}), gallery ${gallery.size}, threshold ${threshold}`,
    );

    const probes: { photo: Photo; genuine: string | undefined }[] = [
      ...cast.residents.flatMap((r) => r.probes.map((photo) => ({ photo, genuine: r.personId }))),
      ...cast.strangers.map((photo) => ({ photo, genuine: undefined })),
      ...cast.others.map((photo) => ({ photo, genuine: undefined })),
    ];
    const same: Scored[] = [];
    const different: Scored[] = [];
    const counts = {
      genuine: 0,
      accepted: 0,
      false_reject: 0,
      misidentified: 0,
      genuine_unreadable: 0,
      impostors: 0,
      impostor_no_face: 0,
      false_accept: 0,
    };
    for (const { photo, genuine } of probes) {
      const a = await pipeline.analyse(readPhoto(photo));
      if (genuine) counts.genuine++;
      else counts.impostors++;
      if (!a.ok) {
        if (genuine) {
          counts.genuine_unreadable++;
          emit({ bench: 'accuracy', case: 'genuine_unreadable', photo: photo.file, reason: a.rejected.reason });
        } else {
          counts.impostor_no_face++;
          emit({
            bench: 'accuracy',
            case: 'impostor_no_face',
            photo: photo.file,
            kind: photo.kind,
            reason: a.rejected.reason,
          });
        }
        continue;
      }
      for (const r of cast.residents) {
        const s: Scored = {
          photo: photo.file,
          label: photo.label,
          template: r.label,
          score: similarity(a.face.embedding, r.embedding),
        };
        (r.personId === genuine ? same : different).push(s);
      }
      const best = gallery.search(a.face.embedding);
      const hit = best !== undefined && best.score >= threshold;
      const score = r3(best?.score ?? Number.NaN);
      if (genuine) {
        if (hit && best.personId === genuine) counts.accepted++;
        else if (hit) {
          counts.misidentified++;
          emit({ bench: 'accuracy', case: 'misidentified', photo: photo.file, as: best.personId, score });
        } else {
          counts.false_reject++;
          emit({ bench: 'accuracy', case: 'false_reject', photo: photo.file, person: photo.label, score });
        }
      } else if (hit) {
        counts.false_accept++;
        emit({
          bench: 'accuracy',
          case: 'false_accept',
          photo: photo.file,
          kind: photo.kind,
          as: best.personId,
          score,
        });
      }
    }

    // photo against photo, every pair of real single-face photos (as models/README.md reports)
    const people = [...photosByPerson().values()].flat();
    const embedded: { label: string; embedding: Float32Array }[] = [];
    for (const p of people) {
      const a = await pipeline.analyse(readPhoto(p));
      if (a.ok) embedded.push({ label: p.label, embedding: a.face.embedding });
    }
    const photoSame: number[] = [];
    const photoDifferent: number[] = [];
    embedded.forEach((x, i) => {
      for (const y of embedded.slice(i + 1)) {
        (x.label === y.label ? photoSame : photoDifferent).push(similarity(x.embedding, y.embedding));
      }
    });

    const base = { bench: 'accuracy', threshold, gallery: gallery.size };
    const line = (scores: string, values: readonly number[], below: boolean) => {
      const wrong = values.filter((v) => (below ? v < threshold : v >= threshold)).length;
      emit({ ...base, scores, ...distribution(values), [below ? 'below_threshold' : 'at_or_above_threshold']: wrong });
    };
    line(
      'probe_vs_own_template',
      same.map((s) => s.score),
      true,
    );
    line(
      'probe_vs_other_templates',
      different.map((s) => s.score),
      false,
    );
    line('photo_pairs_same_person', photoSame, true);
    line('photo_pairs_different_people', photoDifferent, false);
    emit({ ...base, residents: cast.residents.length, ...counts });
    for (const s of [...different].sort((p, q) => q.score - p.score).slice(0, 3)) {
      emit({ bench: 'accuracy', case: 'highest_impostor', ...s, score: r3(s.score) });
    }
    for (const s of [...same].sort((p, q) => p.score - q.score).slice(0, 3)) {
      emit({ bench: 'accuracy', case: 'lowest_genuine', ...s, score: r3(s.score) });
    }
  } finally {
    await pipeline.close();
  }
}

export const accuracyBenches: Bench[] = [
  defineBench({
    name: 'accuracy',
    summary:
      'face match evidence at the configured threshold: enrolled residents vs their other photos, strangers and non-faces (1:N, edge Gallery)',
    options: OPTIONS,
    run,
  }),
];
