import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Check, FILE_NAME, SHA256 } from './check.js';
import { ModelError } from './errors.js';
import { manifestPath, photoListPath } from './paths.js';
import { parseRunSpec, type RunSpec } from './run-spec.js';

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
  /** how the pipeline runs it; only detector, landmarks and embedder entries have one */
  run?: RunSpec;
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
    const role = c.oneOf(o, 'role', where, MODEL_ROLES);
    const inputs = c.arr(o.inputs, `${where}.inputs`).map((t, j) => c.tensor(t, `${where}.inputs[${j}]`));
    const outputs = c.arr(o.outputs, `${where}.outputs`).map((t, j) => c.tensor(t, `${where}.outputs[${j}]`));
    const run = parseRunSpec(c, o.run, `${where}.run`, role, inputs, outputs);
    return {
      id: c.str(o, 'id', where, /^[a-z0-9][a-z0-9-]*$/),
      file: c.str(o, 'file', where, FILE_NAME),
      sha256: c.str(o, 'sha256', where, SHA256),
      bytes: c.int(o, 'bytes', where),
      role,
      licence: {
        declared: c.str(l, 'declared', `${where}.licence`),
        status: c.oneOf(l, 'status', `${where}.licence`, ['clear', 'doubtful'] as const),
        note: c.str(l, 'note', `${where}.licence`),
      },
      provenance: c.provenance(o.provenance, `${where}.provenance`),
      inputs,
      outputs,
      ...(run === undefined ? {} : { run }),
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
