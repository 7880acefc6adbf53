// DESIGN, face recognition: "a model whose sha256 does not match refuses to load".
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../src/errors.js';
import { readManifest } from '../src/manifest.js';
import { modelFilesDir } from '../src/paths.js';
import { verifyModelFile } from '../src/verify.js';

describe('verifyModelFile', () => {
  const entry = readManifest().models.find((m) => m.role === 'embedder');
  let dir = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'estate-models-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts an intact copy and returns its path', async () => {
    if (!entry) throw new Error('manifest has no embedder');
    await copyFile(join(modelFilesDir, entry.file), join(dir, entry.file));
    await expect(verifyModelFile(entry, { dir })).resolves.toBe(join(dir, entry.file));
  });

  it('refuses a copy with one flipped byte, naming the model, the file and both hashes', async () => {
    if (!entry) throw new Error('manifest has no embedder');
    const path = join(dir, entry.file);
    const bytes = await readFile(join(modelFilesDir, entry.file));
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0x01;
    await writeFile(path, bytes);

    const error = await verifyModelFile(entry, { dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    const { code, message, details } = error as ModelError;
    expect(code).toBe('HASH_MISMATCH');
    expect(details.model).toBe(entry.id);
    expect(details.expected).toBe(entry.sha256);
    expect(details.actual).toMatch(/^[0-9a-f]{64}$/);
    expect(details.actual).not.toBe(entry.sha256);
    for (const part of [entry.id, path, entry.sha256, details.actual ?? '?']) expect(message).toContain(part);
  });

  it('says how to fetch a missing file', async () => {
    if (!entry) throw new Error('manifest has no embedder');
    const error = await verifyModelFile(entry, { dir: join(dir, 'empty') }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FILE_MISSING', details: { model: entry.id } });
    expect((error as Error).message).toContain('npm run fetch');
  });
});
