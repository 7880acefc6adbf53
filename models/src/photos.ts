import { resolve } from 'node:path';
import { type PhotoEntry, type PhotoKind, readPhotoList } from './manifest.js';
import { photosDir } from './paths.js';

export interface Photo extends PhotoEntry {
  /** absolute path in models/photos/ (present once `npm run fetch` has run) */
  path: string;
}

/** The test photos with their labels, in the order of photos.json. */
export function photos(options: { dir?: string; listPath?: string } = {}): Photo[] {
  const dir = options.dir ?? photosDir;
  return readPhotoList(options.listPath).photos.map((p) => ({ ...p, path: resolve(dir, p.file) }));
}

/**
 * Real single-face pictures grouped by person, for same-person / different-person pairs. Paintings, masks,
 * drawings and synthetic faces are left out: they carry a label but are not a person to recognise.
 * `annotated` (landmark lines drawn over the face) is left out unless asked for.
 */
export function photosByPerson(
  list: readonly Photo[] = photos(),
  kinds: readonly PhotoKind[] = ['photo'],
): Map<string, Photo[]> {
  const byPerson = new Map<string, Photo[]>();
  for (const p of list) {
    if (!kinds.includes(p.kind) || p.faces !== 1) continue;
    const group = byPerson.get(p.label) ?? [];
    group.push(p);
    byPerson.set(p.label, group);
  }
  return byPerson;
}
