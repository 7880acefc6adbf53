import canonicalize from 'canonicalize';
import type { Signature } from '../common.js';
import type { KeyPurpose, KeyRing, Signer } from './keys.js';
import { signBytes, verifyBytes } from './keys.js';
import type { CredentialReason } from './tokens.js';

/*
 * Detached signatures on JSON documents (desired state, sync deltas, remote
 * commands). The signing input is the RFC 8785 canonical JSON of the document
 * without its `signature`, so key order and whitespace on the wire do not matter.
 */
type Unsigned<T> = Omit<T, 'signature'>;

function signingInput(doc: object): Buffer {
  const { signature: _ignored, ...rest } = doc as { signature?: unknown };
  return Buffer.from(canonicalize(rest) ?? '', 'utf8');
}

export function signDocument<T extends { signature: Signature }>(doc: Unsigned<T>, signer: Signer): T {
  const sig = signBytes(signer.alg, signer.privateKey, signingInput(doc)).toString('base64url');
  return { ...doc, signature: { keyId: signer.keyId, alg: signer.alg, sig } } as T;
}

export type DocumentCheck = { ok: true } | { ok: false; reason: CredentialReason; detail: string };

export function verifyDocument(
  doc: { signature: Signature },
  ring: KeyRing,
  purpose: KeyPurpose,
  now: number,
): DocumentCheck {
  const key = ring.find(doc.signature.keyId, purpose, now);
  if (typeof key === 'string') return { ok: false, reason: key, detail: `signing key ${doc.signature.keyId}` };
  if (key.alg !== doc.signature.alg)
    return { ok: false, reason: 'bad_signature', detail: 'algorithm does not match the key' };
  const sig = Buffer.from(doc.signature.sig, 'base64url');
  return verifyBytes(key.alg, key.publicKey, signingInput(doc), sig)
    ? { ok: true }
    : { ok: false, reason: 'bad_signature', detail: 'signature does not match the document' };
}
