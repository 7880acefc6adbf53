import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ModelError } from './errors.js';
import type { ModelEntry } from './manifest.js';
import { modelFilesDir } from './paths.js';

/** Digest of a file, streamed (the embedder is 5 MB; a later model may be far larger). */
export async function fileDigest(
  path: string,
  algorithm: 'sha256' | 'sha512' = 'sha256',
  encoding: 'hex' | 'base64' = 'hex',
) {
  const hash = createHash(algorithm);
  await pipeline(createReadStream(path), hash);
  return hash.digest(encoding);
}

/** sha256 of the file, or undefined when it does not exist. */
export async function sha256OrMissing(path: string): Promise<string | undefined> {
  try {
    return await fileDigest(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * DESIGN: "a model whose sha256 does not match refuses to load". Call this before handing the path to
 * onnxruntime; it returns the absolute path of the checked file.
 */
export async function verifyModelFile(entry: ModelEntry, options: { dir?: string } = {}): Promise<string> {
  const path = resolve(options.dir ?? modelFilesDir, entry.file);
  refuseUnlessPinned(entry, path, await sha256OrMissing(path));
  return path;
}

/**
 * The model's bytes, read once and hashed in memory. The loader builds its session from these very bytes, so a
 * file swapped between the check and the load cannot slip through (verifyModelFile then a load by path could).
 */
export async function readVerifiedModel(
  entry: ModelEntry,
  options: { dir?: string } = {},
): Promise<{ path: string; bytes: Uint8Array }> {
  const path = resolve(options.dir ?? modelFilesDir, entry.file);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  refuseUnlessPinned(entry, path, bytes && createHash('sha256').update(bytes).digest('hex'));
  return { path, bytes: bytes as Uint8Array };
}

function refuseUnlessPinned(entry: ModelEntry, path: string, actual: string | undefined): asserts actual is string {
  if (actual === undefined) {
    throw new ModelError(
      'FILE_MISSING',
      `model ${entry.id}: ${path} is missing; run \`npm run fetch -w @estate/models\` to fetch it`,
      { model: entry.id, file: path, expected: entry.sha256 },
    );
  }
  if (actual !== entry.sha256) {
    throw new ModelError(
      'HASH_MISMATCH',
      `model ${entry.id}: refusing to load ${path}: its sha256 is ${actual}, the manifest pins ${entry.sha256}`,
      { model: entry.id, file: path, expected: entry.sha256, actual },
    );
  }
}
