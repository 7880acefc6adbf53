import type { FastifyRequest } from 'fastify';
import type { Principal } from './authz.js';
import { AppError } from './errors.js';

/** Who is acting, for authorisation and the audit log; `system` for jobs and the CLI. */
export interface Actor {
  principal: Principal | null;
  system?: string;
  requestId: string | null;
  ip: string | null;
}

export function actorOf(request: FastifyRequest): Actor & { principal: Principal } {
  if (!request.principal) throw new AppError('UNAUTHENTICATED');
  return { principal: request.principal, requestId: request.id, ip: request.ip };
}

export const systemActor = (system: string): Actor => ({ principal: null, system, requestId: null, ip: null });
