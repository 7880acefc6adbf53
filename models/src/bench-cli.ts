// `npm run bench -w @estate/models -- stages [--runs 50] [--threads 1]` times each stage of the face pipeline on
// the 720×576 franck frames; `-- accuracy` prints the same/different-person score distributions. One JSON line
// per result, field names as DESIGN.md "Quality bars" (p50_ms, p95_ms, rss_mb).
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { scoreDistributions } from './evaluate.js';
import { photosByPerson } from './photos.js';
import { FacePipeline } from './pipeline.js';
import type { StageTimings } from './result.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '50' }, threads: { type: 'string', default: '1' } },
});
const threads = Number(values.threads);
const pipeline = await FacePipeline.create({ threads });
const print = (line: object) => console.log(JSON.stringify(line));

try {
  if (positionals[0] === 'accuracy') await accuracy();
  else if (positionals[0] === 'stages' || positionals[0] === undefined) await stages(Number(values.runs));
  else throw new Error(`unknown bench ${positionals[0]}: stages or accuracy`);
} finally {
  await pipeline.close();
}

async function stages(runs: number): Promise<void> {
  const frames = await Promise.all(
    (photosByPerson().get('franck') ?? []).map(async (p) => ({ file: p.file, bytes: await readFile(p.path) })),
  );
  if (frames.length === 0) throw new Error('no franck photos: run `npm run fetch -w @estate/models`');
  const samples: StageTimings[] = [];
  for (let i = -5; i < runs; i++) {
    const frame = frames[(i + frames.length) % frames.length] ?? frames[0];
    const result = await pipeline.analyse(frame?.bytes ?? new Uint8Array());
    if (!result.ok) throw new Error(`${frame?.file}: ${result.rejected.message}`);
    if (i >= 0) samples.push(result.timings); // the first 5 warm the sessions up
  }
  const keys = ['decodeMs', 'detectMs', 'landmarksMs', 'alignMs', 'embedMs', 'totalMs'] as const;
  for (const key of keys) {
    const sorted = samples.map((s) => s[key]).sort((a, b) => a - b);
    const at = (q: number) =>
      Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 100) / 100;
    print({
      bench: 'face_stages',
      stage: key.replace(/Ms$/, ''),
      image: '720x576 jpeg',
      threads,
      n: sorted.length,
      p50_ms: at(0.5),
      p95_ms: at(0.95),
      rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
      // the build machines are shared: a busy box explains a slow p95
      load1: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    });
  }
}

async function accuracy(): Promise<void> {
  const people = [...photosByPerson().values()].flat();
  const result = await scoreDistributions(pipeline, people);
  print({ bench: 'face_accuracy', threshold: pipeline.matchThreshold, embedded: result.embedded, ...result.stats });
  for (const pair of [...result.same.slice(0, 5), ...result.different.slice(0, 5)])
    print({ bench: 'face_pair', ...pair });
  for (const r of result.rejected) print({ bench: 'face_rejected', ...r });
}
