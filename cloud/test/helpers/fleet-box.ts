// A new gateway box for provisioning tests: its own Ed25519 key, and the body it POSTs to /api/gateways/provision
// for a claim code (the proof of possession the edge's `estate-gateway provision` computes).
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { exportRawPublicKey, normalizeClaimCode, provisionProofMessage } from '@estate/protocols';

export function box() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const body = (claimCode: string, signWith = privateKey) => {
    const nonce = randomBytes(16).toString('base64url');
    const canonical = normalizeClaimCode(claimCode) ?? claimCode;
    return {
      claimCode,
      publicKey: exportRawPublicKey(publicKey).toString('base64url'),
      nonce,
      proof: sign(null, provisionProofMessage(canonical, nonce), signWith).toString('base64url'),
      software: 'estate-gateway/test',
    };
  };
  return { privateKey, publicKey, body };
}
