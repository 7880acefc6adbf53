import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { photos, photosByPerson } from '../src/photos.js';

describe('photos()', () => {
  const list = photos();

  it('lists every photo with a path in models/photos', () => {
    expect(list.length).toBeGreaterThanOrEqual(40);
    for (const p of list) expect(existsSync(p.path), p.path).toBe(true);
  });

  it('groups real single-face photos by person, giving same-person and different-person pairs', () => {
    const byPerson = photosByPerson(list);
    expect(byPerson.get('franck')?.length).toBeGreaterThanOrEqual(10);
    expect(byPerson.get('bieber')?.length).toBe(2);
    expect(byPerson.get('cage')?.length).toBe(2);
    const people = [...byPerson.keys()];
    expect(people.length).toBeGreaterThanOrEqual(10);
    // not people to recognise: they must never form a "same person" pair
    for (const label of ['group', 'joconde', 'vendetta-mask', 'average-face']) expect(people).not.toContain(label);
  });

  it('offers the annotated franck frames only when asked', () => {
    const withAnnotated = photosByPerson(list, ['photo', 'annotated']).get('franck')?.length ?? 0;
    expect(withAnnotated).toBe((photosByPerson(list).get('franck')?.length ?? 0) + 3);
  });

  it('marks the face-api group photos with their face counts', () => {
    const groups = list.filter((p) => p.kind === 'group');
    expect(groups.map((p) => p.file)).toEqual([1, 2, 3, 4, 5, 6].map((n) => `sample${n}.jpg`));
    for (const g of groups) expect(g.faces).toBeGreaterThan(1);
  });
});
