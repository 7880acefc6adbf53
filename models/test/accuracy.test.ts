// Issue 3, "accuracy evidence": photos of the same person match and photos of different people do not at the
// configured threshold. The distributions printed here are the ones in README "Match threshold".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Distributions, scoreDistributions } from '../src/evaluate.js';
import { photosByPerson } from '../src/photos.js';
import { FacePipeline } from '../src/pipeline.js';

// SeanConnery.jpg beside sean_guru2_crop.jpg: photos.json calls the second "looks like the same actor in costume
// (white beard, forehead mark), unverified". It ranks above every different-person pair but under the threshold.
const UNVERIFIED = new Set(['sean_guru2_crop.jpg']);

let pipeline: FacePipeline;
let result: Distributions;
beforeAll(async () => {
  pipeline = await FacePipeline.create();
  result = await scoreDistributions(pipeline, [...photosByPerson().values()].flat());
  const show = (p: { a: string; b: string; score: number }) => `${p.score.toFixed(3)} ${p.a} ~ ${p.b}`;
  console.log(
    [
      `match threshold ${pipeline.matchThreshold}; ${result.embedded} photos embedded, rejected: ${JSON.stringify(result.rejected)}`,
      `same person      ${JSON.stringify(result.stats.same)}`,
      `different people ${JSON.stringify(result.stats.different)}`,
      'lowest same-person pairs:',
      ...result.same.slice(0, 4).map(show),
      'highest different-people pairs:',
      ...result.different.slice(0, 4).map(show),
    ].join('\n'),
  );
});
afterAll(() => pipeline.close());

describe('match scores on the labelled photos', () => {
  it('embeds every single-face photo of a real person', () => {
    expect(result.rejected).toEqual([]);
    expect(result.embedded).toBeGreaterThanOrEqual(25);
  });

  it('matches every verified same-person pair: the franck frames, bieber, cage, audrey', () => {
    const verified = result.same.filter((p) => !UNVERIFIED.has(p.a) && !UNVERIFIED.has(p.b));
    const people = new Set(verified.map((p) => p.labels[0]));
    for (const who of ['franck', 'bieber', 'cage', 'audrey']) expect(people).toContain(who);
    for (const pair of verified)
      expect(pair.score, `${pair.a} ~ ${pair.b}`).toBeGreaterThanOrEqual(pipeline.matchThreshold);
  });

  it('keeps every different-people pair well under the threshold', () => {
    for (const pair of result.different) {
      expect(pair.score, `${pair.a} ~ ${pair.b}`).toBeLessThan(pipeline.matchThreshold - 0.1);
    }
  });

  it('ranks the unverified costume photo of Connery above every different-people pair', () => {
    const connery = result.same.find((p) => UNVERIFIED.has(p.a) || UNVERIFIED.has(p.b));
    expect(connery?.score).toBeGreaterThan(result.different[0]?.score ?? 1);
  });
});
