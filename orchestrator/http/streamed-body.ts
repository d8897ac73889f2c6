// Helpers for routes that take a streamed request body (artifact upload, device import).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';

/** Iterates the body without destroying it on an early exit (a refusal part-way through). */
export function bodyChunks(request: FastifyRequest): AsyncIterable<Buffer> {
  const body = request.body as Readable;
  return body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
}

/**
 * After refusing a body part-way: discard the rest and close the connection afterwards, so
 * the client reads the error reply instead of a connection reset.
 */
export function abandonBody(request: FastifyRequest, reply: FastifyReply): void {
  const body = request.body as Readable | undefined;
  if (!body || typeof body.resume !== 'function' || body.readableEnded || body.destroyed) return;
  void reply.header('connection', 'close');
  body.resume();
}
