// The public face of @estate/models. Inference (detect → align → embed) comes in a later issue.
export { ModelError, type ModelErrorCode, type ModelErrorDetails } from './errors.js';
export {
  type Licence,
  type Manifest,
  MODEL_ROLES,
  type ModelEntry,
  type ModelRole,
  type PhotoEntry,
  type PhotoKind,
  type PhotoList,
  type PixelSpec,
  type Provenance,
  readManifest,
  readPhotoList,
  type SourcePackage,
  type TensorSpec,
} from './manifest.js';
export { manifestPath, modelFilesDir, photoListPath, photosDir } from './paths.js';
export { type Photo, photos, photosByPerson } from './photos.js';
export { verifyModelFile } from './verify.js';
