import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Both src/ (Vitest) and dist/ (compiled) sit one level under the package folder.
export const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** The committed lists. */
export const manifestPath = resolve(packageDir, 'manifest.json');
export const photoListPath = resolve(packageDir, 'photos.json');

/** Fetched at install time, git-ignored. */
export const modelFilesDir = resolve(packageDir, 'files');
export const photosDir = resolve(packageDir, 'photos');

/** Where package tarballs are kept between installs: `<repo>/.cache/npm-packs` unless ESTATE_MODEL_CACHE says otherwise. */
export function packCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.ESTATE_MODEL_CACHE;
  return override ? resolve(override) : resolve(packageDir, '..', '.cache', 'npm-packs');
}
