// What an installer types or scans, shared by the cloud (which issues and checks it) and the gateway (which reads
// it): the one-time claim code and its QR payload, the proof a new box sends with it, the pairing code printed on
// a device label, and the signature a provisioned gateway puts on its HTTP requests to the cloud.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { ID_PATTERN } from './common.js';
import { DEVICE_KINDS, type DeviceKind } from './gateway/events.js';

// Crockford base32: no I, L, O, U, so what is read aloud or typed from paper is hard to get wrong.
const B32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function base32(bytes: Uint8Array, chars: number): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out;
}

/** Read-alike letters a person may type for digits, and lower case, are taken as meant. */
function crockford(input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

/** 16 characters = 80 random bits, shown as 4 groups of 4: enough that guessing within its lifetime is hopeless. */
export const CLAIM_CODE_CHARS = 16;

/** A claim code from 10 random bytes, e.g. `7K2M-Q9XD-4RTB-H0CW`. */
export function formatClaimCode(random: Uint8Array): string {
  if (random.byteLength < 10) throw new Error('a claim code needs 10 random bytes');
  const raw = base32(random, CLAIM_CODE_CHARS);
  return raw.match(/.{4}/g)?.join('-') ?? raw;
}

/** The canonical form (16 characters, no dashes, upper case), or undefined when it cannot be a claim code. */
export function normalizeClaimCode(input: string): string | undefined {
  const c = crockford(input);
  return c.length === CLAIM_CODE_CHARS && [...c].every((ch) => B32.includes(ch)) ? c : undefined;
}

export const CLAIM_QR_PREFIX = 'estate-claim:';

/** What the QR code printed for an installer carries: the claim code and the cloud to claim it at. */
export function claimQrPayload(code: string, cloudUrl: string): string {
  return `${CLAIM_QR_PREFIX}${code}@${cloudUrl.replace(/\/+$/, '')}`;
}

/** A claim as typed (`CODE`) or scanned (`estate-claim:CODE@URL`); undefined fields were not in it. */
export function parseClaim(input: string): { code: string | undefined; cloudUrl: string | undefined } {
  const s = input.trim();
  if (!s.startsWith(CLAIM_QR_PREFIX)) return { code: normalizeClaimCode(s), cloudUrl: undefined };
  const rest = s.slice(CLAIM_QR_PREFIX.length);
  const at = rest.indexOf('@');
  if (at < 0) return { code: normalizeClaimCode(rest), cloudUrl: undefined };
  const url = rest.slice(at + 1);
  return { code: normalizeClaimCode(rest.slice(0, at)), cloudUrl: /^https?:\/\/[^\s]+$/.test(url) ? url : undefined };
}

/**
 * The bytes a new box signs with its new key to claim a gateway: proof that whoever holds the claim code also
 * holds the private key it registers. The nonce is the box's own randomness, so no two proofs are alike.
 */
export function provisionProofMessage(normalizedCode: string, nonce: string): Buffer {
  return Buffer.from(`estate-provision/v1\n${normalizedCode}\n${nonce}`, 'utf8');
}

/** A gateway's public key as the box sends it: raw Ed25519 (32 bytes) or SPKI DER, base64url. Throws when neither. */
export function importGatewayPublicKey(b64url: string): KeyObject {
  if (!/^[A-Za-z0-9_-]{43,200}$/.test(b64url)) throw new Error('publicKey is not base64url of a key');
  const der = Buffer.from(b64url, 'base64url');
  const key =
    der.byteLength === 32
      ? createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: der.toString('base64url') }, format: 'jwk' })
      : createPublicKey({ key: der, format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('publicKey must be an Ed25519 key');
  return key;
}

// — device pairing codes —

/**
 * The pairing code printed on a device label: `EST1-<KIND>-<device id>-<CHECK>`, e.g. `EST1-DOOR-door-b1-main-WSP5`.
 * It names the device, it is not a secret: the 4-character check (20 bits of sha256) catches typing mistakes,
 * and the device's credential is issued at pairing time, not printed.
 */
export const PAIRING_PREFIX = 'EST1';

function pairingCheck(kind: DeviceKind, deviceId: string): string {
  return base32(createHash('sha256').update(`${PAIRING_PREFIX}:${kind}:${deviceId}`).digest(), 4);
}

export function formatPairingCode(kind: DeviceKind, deviceId: string): string {
  if (!new RegExp(ID_PATTERN).test(deviceId)) throw new Error(`'${deviceId}' is not a valid device id`);
  return `${PAIRING_PREFIX}-${kind.toUpperCase()}-${deviceId}-${pairingCheck(kind, deviceId)}`;
}

export type PairingCodeProblem = 'format' | 'kind' | 'device_id' | 'check';
export type PairingCode =
  | { ok: true; kind: DeviceKind; deviceId: string; code: string }
  | { ok: false; problem: PairingCodeProblem; message: string };

/** Never throws: says which part of a label's code is wrong. Case and surrounding blanks do not matter. */
export function parsePairingCode(input: string): PairingCode {
  const bad = (problem: PairingCodeProblem, message: string): PairingCode => ({ ok: false, problem, message });
  const parts = input.trim().split('-');
  if (parts.length < 4 || parts[0]?.toUpperCase() !== PAIRING_PREFIX) {
    return bad('format', `expected ${PAIRING_PREFIX}-<KIND>-<device id>-<CHECK>`);
  }
  const kind = (parts[1] ?? '').toLowerCase();
  if (!(DEVICE_KINDS as readonly string[]).includes(kind)) {
    return bad('kind', `unknown device kind '${parts[1]?.slice(0, 20)}' (one of ${DEVICE_KINDS.join(', ')})`);
  }
  const deviceId = parts.slice(2, -1).join('-').toLowerCase();
  if (!new RegExp(ID_PATTERN).test(deviceId)) return bad('device_id', `'${deviceId.slice(0, 70)}' is not a device id`);
  const check = crockford(parts.at(-1) ?? '');
  if (check !== pairingCheck(kind as DeviceKind, deviceId)) {
    return bad('check', 'the check characters do not match: a character was mistyped');
  }
  return { ok: true, kind: kind as DeviceKind, deviceId, code: formatPairingCode(kind as DeviceKind, deviceId) };
}

// — requests a provisioned gateway signs —

export const GATEWAY_AUTH_SCHEME = 'EstateGateway';
/** A signed request older or newer than this is refused (replay window; clocks are checked by the self-test). */
export const GATEWAY_AUTH_SKEW_MS = 5 * 60_000;

export interface GatewayRequest {
  method: string;
  /** path and query as sent, e.g. `/api/gateways/gw-1/self/devices` */
  path: string;
  ts: number;
  body: string;
}

/** The bytes a gateway signs with its own key: method, path, time and the body's hash. */
export function gatewayRequestMessage(r: GatewayRequest): Buffer {
  const bodyHash = createHash('sha256').update(r.body, 'utf8').digest('hex');
  return Buffer.from(`estate-gateway-request/v1\n${r.method.toUpperCase()}\n${r.path}\n${r.ts}\n${bodyHash}`, 'utf8');
}

export function formatGatewayAuth(gatewayId: string, ts: number, signature: Uint8Array): string {
  return `${GATEWAY_AUTH_SCHEME} id=${gatewayId},ts=${ts},sig=${Buffer.from(signature).toString('base64url')}`;
}

export function parseGatewayAuth(
  header: string | undefined,
): { gatewayId: string; ts: number; sig: Buffer } | undefined {
  const m = header?.match(/^EstateGateway id=([a-z0-9][a-z0-9_-]{0,62}),ts=(\d{1,16}),sig=([A-Za-z0-9_-]{1,200})$/);
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  return { gatewayId: m[1], ts: Number(m[2]), sig: Buffer.from(m[3], 'base64url') };
}
