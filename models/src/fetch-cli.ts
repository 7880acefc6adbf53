// `npm run fetch -w @estate/models`, also run by the root postinstall: fills models/files and models/photos.
import { ModelError } from './errors.js';
import { fetchAssets } from './fetch.js';
import { readManifest, readPhotoList } from './manifest.js';
import { modelFilesDir, packCacheDir, photosDir } from './paths.js';

const skip = process.env.ESTATE_SKIP_MODEL_FETCH;
if (skip && skip !== '0' && skip.toLowerCase() !== 'false') {
  console.log(
    `models: ESTATE_SKIP_MODEL_FETCH=${skip}, not fetching models or test photos; ` +
      'face features and their tests need them: run `npm run fetch -w @estate/models` later',
  );
} else {
  const started = performance.now();
  try {
    const report = await fetchAssets({
      manifest: readManifest(),
      photoList: readPhotoList(),
      filesDir: modelFilesDir,
      photosDir,
      cacheDir: packCacheDir(),
    });
    const counts = `${report.models} models, ${report.photos} photos`;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      report.written === 0
        ? `models: ${counts} already present and verified, nothing fetched (${seconds} s)`
        : `models: ${counts} verified; wrote ${report.written} files, ` +
            `downloaded ${report.downloaded.length ? report.downloaded.join(', ') : 'nothing (all cached)'} (${seconds} s)`,
    );
  } catch (err) {
    // A ModelError already says what went wrong and what to do; anything else is a bug and keeps its stack.
    if (!(err instanceof ModelError)) throw err;
    console.error(err.message);
    process.exitCode = 1;
  }
}
