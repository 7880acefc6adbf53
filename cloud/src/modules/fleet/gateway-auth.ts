// Requests a provisioned gateway makes on its own behalf (pairing from the box, asking for its own record) carry
// `Authorization: EstateGateway id=…,ts=…,sig=…`: an Ed25519 signature by the key the box made at provisioning,
// over method, path, time and the body's hash. No shared secret crosses HTTP, the uplink secret stays an MQTT
// credential, and a captured request is refused outside a short window and when replayed inside it.
import {
  GATEWAY_AUTH_SKEW_MS,
  gatewayRequestMessage,
  importGatewayPublicKey,
  parseGatewayAuth,
  verifyBytes,
} from '@estate/protocols';
import type { FastifyRequest } from 'fastify';
import { type Actor, systemActor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError } from '../../core/errors.js';
import type { Gateway } from '../../generated/prisma/client.js';

/** Raw request bodies of this plugin's routes, kept by its JSON parser for signature checks. */
export const rawBodies = new WeakMap<FastifyRequest, string>();

/** Signatures seen inside the window (per instance): the same signed request twice is a replay. */
class ReplayGuard {
  readonly #seen = new Map<string, number>();
  fresh(sig: string, until: number, now: number): boolean {
    if (this.#seen.size > 10_000) for (const [k, t] of this.#seen) if (t < now) this.#seen.delete(k);
    if (this.#seen.has(sig)) return false;
    this.#seen.set(sig, until);
    return true;
  }
}

export function gatewayAuthenticator(deps: CloudDeps) {
  const replays = new ReplayGuard();
  /** The gateway named by the route, when the request is signed by its key; GATEWAY_AUTH_INVALID otherwise. */
  return async (
    request: FastifyRequest,
    gatewayId: string,
    now = Date.now(),
  ): Promise<{ gateway: Gateway; actor: Actor }> => {
    const refuse = (why: string) => new AppError('GATEWAY_AUTH_INVALID', `gateway signature: ${why}`);
    const auth = parseGatewayAuth(request.headers.authorization);
    if (!auth) throw refuse('missing or malformed Authorization header');
    if (auth.gatewayId !== gatewayId) throw refuse('signed by another gateway');
    if (Math.abs(now - auth.ts) > GATEWAY_AUTH_SKEW_MS)
      throw refuse('timestamp outside the allowed window (check the clock)');
    const g = await deps.prisma.gateway.findUnique({ where: { id: gatewayId } });
    if (!g?.publicKey || g.status !== 'active') throw refuse('no active gateway with a key');
    const message = gatewayRequestMessage({
      method: request.method,
      path: request.url,
      ts: auth.ts,
      body: rawBodies.get(request) ?? '',
    });
    if (!verifyBytes('Ed25519', importGatewayPublicKey(g.publicKey), message, auth.sig))
      throw refuse('does not verify');
    if (!replays.fresh(auth.sig.toString('base64url'), auth.ts + GATEWAY_AUTH_SKEW_MS, now)) throw refuse('replayed');
    return { gateway: g, actor: { ...systemActor(`gateway:${g.id}`), requestId: request.id, ip: request.ip } };
  };
}
