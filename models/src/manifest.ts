import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ModelError } from './errors.js';
import { manifestPath, photoListPath } from './paths.js';

export type ModelRole = 'detector' | 'landmarks' | 'embedder' | 'liveness' | 'eye_state' | 'head_pose';
export const MODEL_ROLES: readonly ModelRole[] = [
  'detector',
  'landmarks',
  'embedder',
  'liveness',
  'eye_state',
  'head_pose',
];

/** Channel value fed to the model = (x - mean[c]) / std[c], x being the 0..255 pixel value. */
export interface PixelSpec {
  colour: 'RGB' | 'grey';
  mean: number[];
  std: number[];
}

export interface TensorSpec {
  name: string;
  dtype: 'float32';
  shape: number[];
  layout?: 'NCHW';
  pixels?: PixelSpec;
  meaning: string;
}

/** Where a file comes from: an npm package (name@version) and the path inside its tarball. */
export interface Provenance {
  package: string;
  path: string;
  note?: string;
}

export interface Licence {
  declared: string;
  status: 'clear' | 'doubtful';
  note: string;
}

export interface ModelEntry {
  id: string;
  file: string;
  sha256: string;
  bytes: number;
  role: ModelRole;
  licence: Licence;
  provenance: Provenance;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export interface SourcePackage {
  spec: string;
  /** file name `npm pack` gives the tarball */
  tarball: string;
  /** npm's Subresource Integrity string of the tarball (sha512-…) */
  integrity: string;
  bytes: number;
  licence: string;
}

export interface Manifest {
  version: 1;
  packages: SourcePackage[];
  models: ModelEntry[];
}

export type PhotoKind = 'photo' | 'annotated' | 'group' | 'painting' | 'drawing' | 'mask' | 'synthetic';
const PHOTO_KINDS: readonly PhotoKind[] = ['photo', 'annotated', 'group', 'painting', 'drawing', 'mask', 'synthetic'];

export interface PhotoEntry {
  file: string;
  sha256: string;
  bytes: number;
  /** the person for kinds photo/annotated/painting; otherwise what the picture is ('group', 'skull-mask') */
  label: string;
  kind: PhotoKind;
  /** faces visible, counted by eye */
  faces: number;
  source: Provenance;
  note?: string;
}

export interface PhotoList {
  version: 1;
  photos: PhotoEntry[];
}

// A hand-rolled check rather than a schema library: @estate/models depends on nothing of ours, and a
// wrong manifest must fail at once with the offending field named, not later as an undefined deep in inference.
type Obj = Record<string, unknown>;
const SHA256 = /^[0-9a-f]{64}$/;
// A plain file name: the manifest must not be able to write outside models/files or models/photos.
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

class Check {
  constructor(private readonly source: string) {}

  fail(where: string, message: string): never {
    throw new ModelError('MANIFEST_INVALID', `${this.source}: ${where}: ${message}`);
  }
  obj(value: unknown, where: string): Obj {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(where, 'expected an object');
    return value as Obj;
  }
  arr(value: unknown, where: string): unknown[] {
    if (!Array.isArray(value)) this.fail(where, 'expected an array');
    return value;
  }
  str(o: Obj, key: string, where: string, pattern?: RegExp): string {
    const value = o[key];
    if (typeof value !== 'string' || value === '') this.fail(`${where}.${key}`, 'expected a non-empty string');
    if (pattern && !pattern.test(value))
      this.fail(`${where}.${key}`, `${JSON.stringify(value)} does not match ${pattern}`);
    return value;
  }
  optStr(o: Obj, key: string, where: string): string | undefined {
    return o[key] === undefined ? undefined : this.str(o, key, where);
  }
  int(o: Obj, key: string, where: string): number {
    const value = o[key];
    if (!Number.isInteger(value) || (value as number) < 0) this.fail(`${where}.${key}`, 'expected an integer >= 0');
    return value as number;
  }
  oneOf<T extends string>(o: Obj, key: string, where: string, allowed: readonly T[]): T {
    const value = this.str(o, key, where);
    if (!(allowed as readonly string[]).includes(value)) this.fail(`${where}.${key}`, `expected one of ${allowed}`);
    return value as T;
  }
  numbers(value: unknown, where: string): number[] {
    return this.arr(value, where).map((n, i) =>
      typeof n === 'number' && Number.isFinite(n) ? n : this.fail(`${where}[${i}]`, 'expected a number'),
    );
  }
  unique(values: string[], what: string): void {
    const seen = new Set<string>();
    for (const v of values) {
      if (seen.has(v)) this.fail(what, `${JSON.stringify(v)} appears twice`);
      seen.add(v);
    }
  }

  provenance(value: unknown, where: string): Provenance {
    const o = this.obj(value, where);
    const note = this.optStr(o, 'note', where);
    return {
      package: this.str(o, 'package', where, /^(@[a-z0-9._-]+\/)?[a-z0-9._-]+@\d+\.\d+\.\d+$/),
      path: this.str(o, 'path', where, /^package(\/[^/\0]+)+$/),
      ...(note === undefined ? {} : { note }),
    };
  }

  tensor(value: unknown, where: string): TensorSpec {
    const o = this.obj(value, where);
    const shape = this.numbers(o.shape, `${where}.shape`);
    const spec: TensorSpec = {
      name: this.str(o, 'name', where),
      dtype: this.oneOf(o, 'dtype', where, ['float32'] as const),
      shape,
      meaning: this.str(o, 'meaning', where),
    };
    if (o.layout !== undefined) spec.layout = this.oneOf(o, 'layout', where, ['NCHW'] as const);
    if (o.pixels !== undefined) {
      const p = this.obj(o.pixels, `${where}.pixels`);
      const colour = this.oneOf(p, 'colour', `${where}.pixels`, ['RGB', 'grey'] as const);
      const channels = colour === 'RGB' ? 3 : 1;
      const mean = this.numbers(p.mean, `${where}.pixels.mean`);
      const std = this.numbers(p.std, `${where}.pixels.std`);
      if (mean.length !== channels || std.length !== channels) {
        this.fail(`${where}.pixels`, `${colour} needs ${channels} mean and std values`);
      }
      if (std.some((s) => s === 0)) this.fail(`${where}.pixels.std`, 'must not be 0');
      spec.pixels = { colour, mean, std };
    }
    return spec;
  }
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ModelError('MANIFEST_INVALID', `${path}: cannot read it as JSON (${(err as Error).message})`);
  }
}

export function parseManifest(json: unknown, source = basename(manifestPath)): Manifest {
  const c = new Check(source);
  const root = c.obj(json, '$');
  if (root.version !== 1) c.fail('$.version', 'expected 1');
  const packages = c.arr(root.packages, '$.packages').map((value, i): SourcePackage => {
    const where = `$.packages[${i}]`;
    const o = c.obj(value, where);
    return {
      spec: c.str(o, 'spec', where),
      tarball: c.str(o, 'tarball', where, /^[A-Za-z0-9._-]+\.tgz$/),
      integrity: c.str(o, 'integrity', where, /^sha512-[A-Za-z0-9+/]+={0,2}$/),
      bytes: c.int(o, 'bytes', where),
      licence: c.str(o, 'licence', where),
    };
  });
  const models = c.arr(root.models, '$.models').map((value, i): ModelEntry => {
    const where = `$.models[${i}]`;
    const o = c.obj(value, where);
    const l = c.obj(o.licence, `${where}.licence`);
    return {
      id: c.str(o, 'id', where, /^[a-z0-9][a-z0-9-]*$/),
      file: c.str(o, 'file', where, FILE_NAME),
      sha256: c.str(o, 'sha256', where, SHA256),
      bytes: c.int(o, 'bytes', where),
      role: c.oneOf(o, 'role', where, MODEL_ROLES),
      licence: {
        declared: c.str(l, 'declared', `${where}.licence`),
        status: c.oneOf(l, 'status', `${where}.licence`, ['clear', 'doubtful'] as const),
        note: c.str(l, 'note', `${where}.licence`),
      },
      provenance: c.provenance(o.provenance, `${where}.provenance`),
      inputs: c.arr(o.inputs, `${where}.inputs`).map((t, j) => c.tensor(t, `${where}.inputs[${j}]`)),
      outputs: c.arr(o.outputs, `${where}.outputs`).map((t, j) => c.tensor(t, `${where}.outputs[${j}]`)),
    };
  });
  c.unique(
    packages.map((p) => p.spec),
    '$.packages[].spec',
  );
  c.unique(
    models.map((m) => m.id),
    '$.models[].id',
  );
  c.unique(
    models.map((m) => m.file),
    '$.models[].file',
  );
  return { version: 1, packages, models };
}

export function parsePhotoList(json: unknown, source = basename(photoListPath)): PhotoList {
  const c = new Check(source);
  const root = c.obj(json, '$');
  if (root.version !== 1) c.fail('$.version', 'expected 1');
  const photos = c.arr(root.photos, '$.photos').map((value, i): PhotoEntry => {
    const where = `$.photos[${i}]`;
    const o = c.obj(value, where);
    const note = c.optStr(o, 'note', where);
    return {
      file: c.str(o, 'file', where, FILE_NAME),
      sha256: c.str(o, 'sha256', where, SHA256),
      bytes: c.int(o, 'bytes', where),
      label: c.str(o, 'label', where),
      kind: c.oneOf(o, 'kind', where, PHOTO_KINDS),
      faces: c.int(o, 'faces', where),
      source: c.provenance(o.source, `${where}.source`),
      ...(note === undefined ? {} : { note }),
    };
  });
  c.unique(
    photos.map((p) => p.file),
    '$.photos[].file',
  );
  return { version: 1, photos };
}

/** The committed model manifest, checked. */
export function readManifest(path = manifestPath): Manifest {
  return parseManifest(readJson(path), path);
}

/** The committed list of test photos, checked. */
export function readPhotoList(path = photoListPath): PhotoList {
  return parsePhotoList(readJson(path), path);
}
