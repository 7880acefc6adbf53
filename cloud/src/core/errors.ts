// The one catalogue of coded errors the cloud API can answer with. A client sees `code` and `message`;
// anything 5xx is reported as INTERNAL with no detail (the detail goes to the log under the request id).

export const ERRORS = {
  VALIDATION: { status: 400, message: 'The request does not match the schema' },
  MALFORMED_JSON: { status: 400, message: 'The body is not valid JSON' },
  BAD_REQUEST: { status: 400, message: 'The request cannot be processed' },
  UNSAFE_FILE_NAME: { status: 400, message: 'The file name is not allowed' },
  UNAUTHENTICATED: { status: 401, message: 'Authentication is required' },
  BAD_CREDENTIALS: { status: 401, message: 'Login or password is wrong' },
  TOKEN_INVALID: { status: 401, message: 'The token is not valid' },
  TOKEN_EXPIRED: { status: 401, message: 'The token has expired' },
  TOKEN_REVOKED: { status: 401, message: 'The session has been revoked' },
  TOKEN_REUSED: { status: 401, message: 'A used refresh token was presented; the session is revoked' },
  FORBIDDEN: { status: 403, message: 'This account may not do that' },
  NOT_FOUND: { status: 404, message: 'Not found' },
  CONFLICT: { status: 409, message: 'The request conflicts with the current state' },
  CONSENT_REQUIRED: { status: 409, message: 'A valid consent for this purpose is required' },
  BODY_TOO_LARGE: { status: 413, message: 'The body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported content type' },
  RATE_LIMITED: { status: 429, message: 'Too many requests' },
  // — repairs & community —
  ILLEGAL_TRANSITION: { status: 409, message: 'The order cannot move to that status from its current one' },
  NOT_ASSIGNEE: { status: 403, message: 'The order is assigned to another technician' },
  ALREADY_RATED: { status: 409, message: 'The order has already been rated' },
  NO_TECHNICIAN: { status: 409, message: 'No technician is available for this order' },
  EVENT_FULL: { status: 409, message: 'The event and its waiting list are full' },
  SIGNUP_CLOSED: { status: 409, message: 'Sign-up for this event is not open' },
  NOT_AN_IMAGE: { status: 415, message: 'The file is not a JPEG, PNG or WebP image' },
  FILE_TOO_LARGE: { status: 413, message: 'The file is larger than allowed' },
  // — fleet (gateway provisioning and pairing) —
  CLAIM_CODE_UNKNOWN: { status: 404, message: 'No gateway waits for this claim code' },
  CLAIM_CODE_USED: { status: 409, message: 'This claim code has been used already' },
  CLAIM_CODE_EXPIRED: { status: 410, message: 'This claim code has expired; ask for a new one' },
  PROOF_INVALID: { status: 400, message: 'The proof is not a signature of the claim code by the given key' },
  GATEWAY_RETIRED: { status: 409, message: 'The gateway is retired' },
  GATEWAY_AUTH_INVALID: { status: 401, message: 'The gateway signature is not valid' },
  PAIRING_CODE_INVALID: { status: 400, message: 'The pairing code is not valid' },
  // — access management —
  FACE_REJECTED: { status: 422, message: 'The photos cannot make a face template' },
  DOORS_NOT_ALLOWED: { status: 403, message: 'The pass names doors the resident may not open' },
  CREDENTIAL_REVOKED: { status: 409, message: 'The credential is revoked' },
  PIN_REJECTED: { status: 422, message: 'The PIN is not allowed' },
  INTERNAL: { status: 500, message: 'Internal error' },
  NOT_READY: { status: 503, message: 'Not ready' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** The input field at fault, as a JSON pointer (`/body/phone`), when there is one. */
  readonly field: string | undefined;

  constructor(code: ErrorCode, message?: string, field?: string) {
    super(message ?? ERRORS[code].message);
    this.name = 'AppError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.field = field;
  }
}

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);
export const forbidden = (message?: string) => new AppError('FORBIDDEN', message);
