import { decodeEmbedding, encodeEmbedding, Gallery, MultiFrameConsistency } from '@estate/edge';
import { describe, expect, it } from 'vitest';

const unit = (dim: number, hot: number) => {
  const v = new Float32Array(dim);
  v[hot] = 1;
  return v;
};

describe('face gallery', () => {
  it('finds the best match by cosine and survives deletes (swap-remove keeps the rows right)', () => {
    const g = new Gallery(8, 2);
    for (let i = 0; i < 8; i++) g.upsert(`t-${i}`, `p-${i}`, unit(8, i));
    expect(g.size).toBe(8);
    expect(g.search(unit(8, 5))).toEqual({ score: 1, personId: 'p-5', templateId: 't-5' });
    g.delete('t-2');
    expect(g.search(unit(8, 7))?.personId).toBe('p-7');
    expect(g.search(unit(8, 2))?.score).toBe(0);
    expect(g.deletePerson('p-7')).toBe(1);
    expect(g.size).toBe(6);
  });

  it('refuses NaN, infinite, zero and wrong-length embeddings, and keeps working', () => {
    const g = new Gallery(4);
    g.upsert('t-ok', 'p-ok', unit(4, 0));
    expect(() => g.upsert('t-nan', 'p', Float32Array.from([Number.NaN, 0, 0, 1]))).toThrow(/finite/);
    expect(() => g.upsert('t-inf', 'p', Float32Array.from([Number.POSITIVE_INFINITY, 0, 0, 1]))).toThrow(/finite/);
    expect(() => g.upsert('t-zero', 'p', new Float32Array(4))).toThrow(/zero/);
    expect(() => g.upsert('t-short', 'p', new Float32Array(3))).toThrow(/3-d/);
    expect(g.size).toBe(1);
    expect(g.search(unit(4, 0))?.templateId).toBe('t-ok');
  });

  it('normalises what it stores, so scores are cosines', () => {
    const g = new Gallery(2);
    g.upsert('t', 'p', Float32Array.from([3, 4]));
    expect(g.search(Float32Array.from([0.6, 0.8]))?.score).toBeCloseTo(1, 6);
  });

  it('carries embeddings as float32 LE base64url and rejects the wrong length', () => {
    const v = Float32Array.from([0.25, -1, 3.5]);
    expect(decodeEmbedding(encodeEmbedding(v), 3)).toEqual(v);
    expect(() => decodeEmbedding(encodeEmbedding(v), 4)).toThrow(/expected 16/);
  });
});

describe('multi-frame liveness', () => {
  const face = [100, 100, 140, 100, 120, 120, 105, 140, 135, 140];
  const moved = face.map((v, i) => v * 1.2 + (i % 2 ? 30 : 10)); // slid and scaled: still the same rigid picture
  const alive = [...face];
  alive[5] = 124; // the nose moved relative to the eyes: non-rigid

  it('waits for a second frame, then accepts a face whose shape changes', () => {
    const l = new MultiFrameConsistency();
    expect(l.observe('cam', { personId: 'p', ts: 0, landmarks5: face })).toBe('undecided');
    expect(l.observe('cam', { personId: 'p', ts: 200, landmarks5: alive })).toBe('live');
  });

  it('refuses the same still picture, even slid or scaled in front of the camera', () => {
    const l = new MultiFrameConsistency();
    l.observe('cam', { personId: 'p', ts: 0, landmarks5: face });
    expect(l.observe('cam', { personId: 'p', ts: 200, landmarks5: face })).toBe('spoof');
    expect(l.observe('cam', { personId: 'p', ts: 400, landmarks5: moved })).toBe('spoof');
  });

  it('does not mix people or stale frames', () => {
    const l = new MultiFrameConsistency({ windowMs: 1_000 });
    l.observe('cam', { personId: 'a', ts: 0, landmarks5: face });
    expect(l.observe('cam', { personId: 'b', ts: 100, landmarks5: alive })).toBe('undecided');
    expect(l.observe('cam', { personId: 'b', ts: 5_000, landmarks5: alive })).toBe('undecided');
  });
});
