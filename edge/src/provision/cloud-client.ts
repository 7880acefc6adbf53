// HTTP to the cloud for the installer commands: plain calls (provisioning) and calls signed with the gateway's own
// key (pairing, its own record). Every failure becomes a CloudError that says, for a person, what went wrong.
import { createPrivateKey, sign } from 'node:crypto';
import { formatGatewayAuth, gatewayRequestMessage } from '@estate/protocols';
import type { Identity } from './identity.js';

export type Fetch = typeof fetch;

export class CloudError extends Error {
  override readonly name = 'CloudError';
  constructor(
    message: string,
    /** the cloud's error code (CLAIM_CODE_USED…), or UNREACHABLE when no answer came */
    readonly code: string,
    readonly status = 0,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 15_000;

/** JSON in, JSON out; throws CloudError with the cloud's code and message, or UNREACHABLE. */
export async function callCloud<T>(
  cloudUrl: string,
  path: string,
  init: { method: string; body?: string; headers?: Record<string, string> },
  fetchImpl: Fetch = fetch,
): Promise<{ status: number; body: T }> {
  const base = cloudUrl.replace(/\/+$/, '');
  let res: Response;
  try {
    res = await fetchImpl(`${base}${path}`, {
      method: init.method,
      headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
      ...(init.body !== undefined ? { body: init.body } : {}),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
    throw new CloudError(
      `cannot reach the cloud at ${base} (${cause}): check the address and the network`,
      'UNREACHABLE',
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    throw new CloudError(
      `${base} answered ${res.status} with something that is not the Estate cloud API`,
      'NOT_ESTATE',
      res.status,
    );
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new CloudError(err?.message ?? `the cloud answered ${res.status}`, err?.code ?? 'HTTP_ERROR', res.status);
  }
  return { status: res.status, body: body as T };
}

/** A request signed with the gateway's own key (modules/fleet/gateway-auth.ts in the cloud checks it). */
export function signedCall<T>(identity: Identity, method: string, path: string, payload?: unknown, fetchImpl?: Fetch) {
  const body = payload === undefined ? '' : JSON.stringify(payload);
  const ts = Date.now();
  const sig = sign(null, gatewayRequestMessage({ method, path, ts, body }), createPrivateKey(identity.privateKeyPem));
  return callCloud<T>(
    identity.cloudUrl,
    path,
    {
      method,
      ...(payload === undefined ? {} : { body }),
      headers: { authorization: formatGatewayAuth(identity.gatewayId, ts, sig) },
    },
    fetchImpl,
  );
}
