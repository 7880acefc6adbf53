// Same-person and different-person score distributions over the labelled test photos: the evidence behind the
// match threshold (README "Match threshold"), shared by the accuracy test and `npm run bench -w @estate/models`.
import { readFile } from 'node:fs/promises';
import { similarity } from './embed.js';
import type { Photo } from './photos.js';
import type { FacePipeline } from './pipeline.js';
import type { RejectReason } from './result.js';

export interface Pair {
  a: string;
  b: string;
  /** the photos' labels (people), in the order of a and b */
  labels: [string, string];
  score: number;
}

export interface Stats {
  n: number;
  min: number;
  p05: number;
  p50: number;
  p95: number;
  max: number;
  mean: number;
  sd: number;
}

export interface Distributions {
  embedded: number;
  rejected: { file: string; reason: RejectReason }[];
  /** ascending by score */
  same: Pair[];
  /** descending by score */
  different: Pair[];
  stats: { same: Stats; different: Stats };
}

/** Embeds every photo once and scores every pair: same label → `same`, different labels → `different`. */
export async function scoreDistributions(pipeline: FacePipeline, photos: readonly Photo[]): Promise<Distributions> {
  const faces: { file: string; label: string; embedding: Float32Array }[] = [];
  const rejected: Distributions['rejected'] = [];
  for (const photo of photos) {
    const result = await pipeline.analyse(await readFile(photo.path));
    if (result.ok) faces.push({ file: photo.file, label: photo.label, embedding: result.face.embedding });
    else rejected.push({ file: photo.file, reason: result.rejected.reason });
  }
  const same: Pair[] = [];
  const different: Pair[] = [];
  faces.forEach((x, i) => {
    for (const y of faces.slice(i + 1)) {
      const pair: Pair = {
        a: x.file,
        b: y.file,
        labels: [x.label, y.label],
        score: similarity(x.embedding, y.embedding),
      };
      (x.label === y.label ? same : different).push(pair);
    }
  });
  same.sort((p, q) => p.score - q.score);
  different.sort((p, q) => q.score - p.score);
  return {
    embedded: faces.length,
    rejected,
    same,
    different,
    stats: { same: stats(same.map((p) => p.score)), different: stats(different.map((p) => p.score)) },
  };
}

/** Summary of a sample, rounded to 3 decimals for printing. */
export function stats(values: readonly number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const at = (q: number) => sorted[Math.min(n - 1, Math.floor(q * n))] ?? Number.NaN;
  const mean = sorted.reduce((s, v) => s + v, 0) / n;
  const sd = Math.sqrt(sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return {
    n,
    min: r(at(0)),
    p05: r(at(0.05)),
    p50: r(at(0.5)),
    p95: r(at(0.95)),
    max: r(at(1)),
    mean: r(mean),
    sd: r(sd),
  };
}
