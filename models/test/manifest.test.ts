// The committed lists against the files `npm install` fetched (no network here: the fetch ran at install time).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../src/errors.js';
import { MODEL_ROLES, parseManifest, parsePhotoList, readManifest, readPhotoList } from '../src/manifest.js';
import { manifestPath, modelFilesDir, photosDir } from '../src/paths.js';
import { fileDigest, verifyModelFile } from '../src/verify.js';

const fetched = existsSync(modelFilesDir) && existsSync(photosDir);
const hint = 'models/files or models/photos is missing: run `npm run fetch -w @estate/models`';

describe('manifest.json', () => {
  const manifest = readManifest();

  it('has one model for each role, every one marked as a doubtful-provenance bootstrap', () => {
    expect(manifest.models.map((m) => m.role).sort()).toEqual([...MODEL_ROLES].sort());
    for (const m of manifest.models) {
      expect(m.licence.status).toBe('doubtful');
      expect(m.provenance.note).toMatch(/bootstrap/);
      expect(existsSync(new URL(`../cards/${m.id}.md`, import.meta.url)), `cards/${m.id}.md`).toBe(true);
    }
  });

  it('pins sha256 and size of every model file fetched into models/files', async () => {
    expect(fetched, hint).toBe(true);
    for (const m of manifest.models) {
      const path = await verifyModelFile(m);
      expect(readFileSync(path).length, m.file).toBe(m.bytes);
    }
  });

  it('names the offending field when an entry is malformed', () => {
    const json = JSON.parse(readFileSync(manifestPath, 'utf8'));
    json.models[2].sha256 = 'not-a-hash';
    expect(() => parseManifest(json)).toThrowError(/\$\.models\[2\]\.sha256/);
    json.models[2].sha256 = '0'.repeat(64);
    json.models[2].file = '../escape.onnx';
    expect(() => parseManifest(json)).toThrowError(ModelError);
    json.models[2].file = json.models[1].file;
    expect(() => parseManifest(json)).toThrowError(/appears twice/);
  });
});

describe('photos.json', () => {
  const list = readPhotoList();

  it('pins sha256 and size of every photo fetched into models/photos', async () => {
    expect(fetched, hint).toBe(true);
    for (const p of list.photos) {
      const path = join(photosDir, p.file);
      expect(await fileDigest(path), p.file).toBe(p.sha256);
      expect(readFileSync(path).length, p.file).toBe(p.bytes);
    }
  });

  it('refuses an unknown kind', () => {
    const json = structuredClone(list);
    Object.assign(json.photos[0] ?? {}, { kind: 'selfie' });
    expect(() => parsePhotoList(json)).toThrowError(/\$\.photos\[0\]\.kind/);
  });
});
