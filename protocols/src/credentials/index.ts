export { type DocumentCheck, signDocument, verifyDocument } from './documents.js';
export {
  type Alg,
  exportRawPublicKey,
  importRawPublicKey,
  type KeyPurpose,
  KeyRing,
  privateKeyFromPem,
  type Signer,
  signBytes,
  type TrustedKey,
  verifyBytes,
} from './keys.js';
export {
  BleKeyClaims,
  type CredentialReason,
  PassClaims,
  signToken,
  type Verified,
  type VerifyOptions,
  verifyBleKey,
  verifyBleResponse,
  verifyPass,
} from './tokens.js';
