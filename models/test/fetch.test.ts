// The fetch logic against a tarball made here: no registry is involved (the packer either refuses to run or
// copies the local tarball), except the one test that points npm at a closed local port.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ModelError } from '../src/errors.js';
import { type FetchOptions, fetchAssets, type Packer } from '../src/fetch.js';
import type { Manifest, PhotoList } from '../src/manifest.js';
import { npmPack } from '../src/pack.js';

const sha = (algorithm: string, data: Buffer, encoding: 'hex' | 'base64' = 'hex') =>
  createHash(algorithm).update(data).digest(encoding);

let root = '';
let tarball = ''; // the package as the registry would serve it, outside the cache
const model = randomBytes(4096);
const photo = randomBytes(1024);

function aManifest(tgz: Buffer): { manifest: Manifest; photoList: PhotoList } {
  const source = { package: 'fake-faces@1.0.0' };
  const manifest: Manifest = {
    version: 1,
    packages: [
      {
        spec: 'fake-faces@1.0.0',
        tarball: 'fake-faces-1.0.0.tgz',
        integrity: `sha512-${sha('sha512', tgz, 'base64')}`,
        bytes: tgz.length,
        licence: 'test',
      },
    ],
    models: [
      {
        id: 'fake-detect',
        file: 'detect.onnx',
        sha256: sha('sha256', model),
        bytes: model.length,
        role: 'detector',
        licence: { declared: 'MIT', status: 'clear', note: 'test' },
        provenance: { ...source, path: 'package/model/detect.onnx' },
        inputs: [],
        outputs: [],
      },
    ],
  };
  const photoList: PhotoList = {
    version: 1,
    photos: [
      {
        file: 'face.jpg',
        sha256: sha('sha256', photo),
        bytes: photo.length,
        label: 'someone',
        kind: 'photo',
        faces: 1,
        source: { ...source, path: 'package/media/face.jpg' },
      },
    ],
  };
  return { manifest, photoList };
}

const refuseNetwork: Packer = async () => {
  throw new Error('the network must not be used');
};
const fromLocal: Packer = async (pkg, destDir) => copyFile(tarball, join(destDir, pkg.tarball));

async function options(overrides: Partial<FetchOptions> = {}): Promise<FetchOptions> {
  return {
    ...aManifest(await readFile(tarball)),
    filesDir: join(root, 'files'),
    photosDir: join(root, 'photos'),
    cacheDir: join(root, 'cache'),
    log: () => {},
    pack: fromLocal,
    ...overrides,
  };
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'estate-fetch-'));
  const pkg = join(root, 'src', 'package');
  await mkdir(join(pkg, 'model'), { recursive: true });
  await mkdir(join(pkg, 'media'), { recursive: true });
  await writeFile(join(pkg, 'model', 'detect.onnx'), model);
  await writeFile(join(pkg, 'media', 'face.jpg'), photo);
  await writeFile(join(pkg, 'unwanted.bin'), randomBytes(64));
  tarball = join(root, 'fake-faces-1.0.0.tgz');
  execFileSync('tar', ['-czf', tarball, '-C', join(root, 'src'), 'package']);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('fetchAssets', () => {
  it('downloads once, extracts only the listed files, and does nothing on the second run', async () => {
    const first = await fetchAssets(await options());
    expect(first).toMatchObject({ models: 1, photos: 1, written: 2, downloaded: ['fake-faces@1.0.0'] });
    expect(await readFile(join(root, 'files', 'detect.onnx'))).toEqual(model);
    expect(await readFile(join(root, 'photos', 'face.jpg'))).toEqual(photo);
    expect(await readdir(join(root, 'files'))).toEqual(['detect.onnx']);
    expect(await readdir(join(root, 'cache'))).toEqual(['fake-faces-1.0.0.tgz']);

    const second = await fetchAssets(await options({ pack: refuseNetwork }));
    expect(second).toMatchObject({ written: 0, downloaded: [] });
  });

  it('replaces a damaged file from the cached tarball without downloading again', async () => {
    await fetchAssets(await options());
    await writeFile(join(root, 'files', 'detect.onnx'), 'half a file');
    const report = await fetchAssets(await options({ pack: refuseNetwork }));
    expect(report).toMatchObject({ written: 1, downloaded: [] });
    expect(await readFile(join(root, 'files', 'detect.onnx'))).toEqual(model);
  });

  it('refuses a file whose sha256 is not the pinned one, naming it and both hashes, and keeps no copy', async () => {
    const opts = await options();
    const wrong = '0'.repeat(64);
    opts.manifest.models[0] = { ...(opts.manifest.models[0] as Manifest['models'][number]), sha256: wrong };
    const error = await fetchAssets(opts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect(error).toMatchObject({ code: 'HASH_MISMATCH' });
    const message = (error as Error).message;
    for (const part of [join(root, 'files', 'detect.onnx'), wrong, sha('sha256', model)]) {
      expect(message).toContain(part);
    }
    expect(await readdir(join(root, 'files'))).toEqual([]); // no bad file, no temp file
    expect(await readdir(join(root, 'photos'))).toEqual(['face.jpg']); // the good one still lands
  });

  it('refuses a tarball that differs from its pinned integrity', async () => {
    const opts = await options();
    const pkg = opts.manifest.packages[0];
    if (pkg) pkg.integrity = `sha512-${sha('sha512', Buffer.from('other'), 'base64')}`;
    await expect(fetchAssets(opts)).rejects.toMatchObject({ code: 'TARBALL_MISMATCH' });
    expect(await readdir(join(root, 'cache'))).toEqual([]);
  });

  it('removes what a killed run left behind, never taking it for a fetched file', async () => {
    await mkdir(join(root, 'files'), { recursive: true });
    await writeFile(join(root, 'files', '.detect.onnx.999999999.tmp'), model.subarray(0, 100));
    await fetchAssets(await options());
    expect(await readdir(join(root, 'files'))).toEqual(['detect.onnx']);
  });
});

describe('npmPack', () => {
  beforeEach(() => {
    // A closed local port and an empty npm cache: the failure path without touching any real registry.
    vi.stubEnv('npm_config_registry', 'http://127.0.0.1:9/');
    vi.stubEnv('npm_config_cache', join(root, 'npm-cache'));
    vi.stubEnv('npm_config_fetch_retries', '0');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('explains what to do when the registry cannot be reached', async () => {
    const { manifest } = aManifest(Buffer.from(''));
    const pkg = manifest.packages[0];
    if (!pkg) throw new Error('no package');
    const error = await npmPack(pkg, root, join(root, 'cache')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PACK_FAILED' });
    const message = (error as Error).message;
    expect(message).toContain('npm pack fake-faces@1.0.0');
    expect(message).toContain('ESTATE_SKIP_MODEL_FETCH=1');
    expect(message).toContain(join(root, 'cache'));
  });
});
