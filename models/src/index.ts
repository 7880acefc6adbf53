// The public face of @estate/models: the manifest and its files, and the face pipeline (detect → align → embed)
// shared by the gateway (recognition) and the cloud (enrolment).
export type { Box } from './detect.js';
export { similarity } from './embed.js';
export type { Enrolment } from './enrol.js';
export { ModelError, type ModelErrorCode, type ModelErrorDetails } from './errors.js';
export type { RgbImage } from './image.js';
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
export {
  type AnalyseOptions,
  DEFAULT_GATES,
  FacePipeline,
  type FacePipelineOptions,
  type QualityGates,
} from './pipeline.js';
export type { Face, FaceAnalysis, FaceQuality, Rejection, RejectReason, StageTimings } from './result.js';
export type { DetectorRun, EmbedderRun, LandmarksRun, RunSpec } from './run-spec.js';
export { type LoadedModel, type LoadOptions, loadModel } from './session.js';
export { verifyModelFile } from './verify.js';
