// One-time claim codes: made here, shown once (as text and as a QR code), stored only as a hash with an expiry.
import { randomBytes } from 'node:crypto';
import { claimQrPayload, formatClaimCode, normalizeClaimCode } from '@estate/protocols';
import QRCode from 'qrcode';
import { hashToken } from '../../core/tokens.js';

export const DEFAULT_CLAIM_TTL_HOURS = 24;

export interface IssuedClaim {
  code: string;
  hash: string;
  expiresAt: Date;
}

export interface ClaimView {
  code: string;
  expiresAt: string;
  qr: { payload: string; svg: string; pngDataUrl: string };
}

/** The stored form of a claim code: sha256 of its canonical spelling, so `7k2m q9xd…` finds `7K2M-Q9XD-…`. */
export function claimHash(typed: string): string | undefined {
  const canonical = normalizeClaimCode(typed);
  return canonical ? hashToken(canonical) : undefined;
}

export function issueClaim(ttlHours = DEFAULT_CLAIM_TTL_HOURS, now = new Date()): IssuedClaim {
  const code = formatClaimCode(randomBytes(10));
  const hash = claimHash(code);
  if (!hash) throw new Error('a freshly made claim code did not normalise');
  return { code, hash, expiresAt: new Date(now.getTime() + ttlHours * 3_600_000) };
}

/** The code with its QR code, for the one response that ever shows it. */
export async function claimView(claim: IssuedClaim, cloudUrl: string): Promise<ClaimView> {
  const payload = claimQrPayload(claim.code, cloudUrl);
  // 'M' error correction survives a smudged print; a margin of 2 modules is enough on white paper
  const options = { errorCorrectionLevel: 'M' as const, margin: 2 };
  const [svg, pngDataUrl] = await Promise.all([
    QRCode.toString(payload, { ...options, type: 'svg' }),
    QRCode.toDataURL(payload, { ...options, width: 256 }),
  ]);
  return { code: claim.code, expiresAt: claim.expiresAt.toISOString(), qr: { payload, svg, pngDataUrl } };
}
