// The one error handler: every failure leaves as `{ error: { code, message, field?, requestId } }` with a code
// from core/errors.ts. 5xx answers carry no detail; the log line (with the same request id) has it.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, ERRORS, type ErrorCode } from '../core/errors.js';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
};

interface Classified {
  code: ErrorCode;
  message: string;
  field?: string | undefined;
}

function classify(err: FastifyError & { validationContext?: string }): Classified {
  if (err instanceof AppError) return { code: err.code, message: err.message, field: err.field };
  if (err.validation) {
    const first = err.validation[0];
    const path = first?.instancePath ?? '';
    return {
      code: 'VALIDATION',
      message: `${err.validationContext ?? 'request'}${path}: ${first?.message ?? 'invalid'}`,
      field: `/${err.validationContext ?? 'body'}${path}`,
    };
  }
  const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
  if (mapped) return { code: mapped, message: ERRORS[mapped].message };
  if (err instanceof SyntaxError || err.statusCode === 400) return { code: 'MALFORMED_JSON', message: 'invalid body' };
  if (err.statusCode === 429) return { code: 'RATE_LIMITED', message: ERRORS.RATE_LIMITED.message };
  // Prisma: a unique or foreign-key constraint the service did not check first.
  const prismaCode = (err as { code?: unknown }).code;
  if (prismaCode === 'P2002') return { code: 'CONFLICT', message: 'already exists' };
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return { code: 'BAD_REQUEST', message: ERRORS.BAD_REQUEST.message };
  }
  return { code: 'INTERNAL', message: ERRORS.INTERNAL.message };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, c: Classified) {
  const status = ERRORS[c.code].status;
  return reply.status(status).send({
    error: { code: c.code, message: c.message, ...(c.field ? { field: c.field } : {}), requestId: request.id },
  });
}

export default fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((err: FastifyError, request, reply) => {
      const c = classify(err);
      if (ERRORS[c.code].status >= 500) request.log.error({ err }, 'request failed');
      else request.log.info({ code: c.code, field: c.field }, 'request refused');
      return sendError(request, reply, c);
    });
    app.setNotFoundHandler((request, reply) =>
      sendError(request, reply, { code: 'NOT_FOUND', message: 'No such route' }),
    );
  },
  { name: 'errors' },
);
