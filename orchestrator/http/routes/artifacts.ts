// Artifact routes. PUT streams an upload into the store (hashed on the way, size-limited,
// nothing left behind on failure). GET is public, for devices: ETag = sha256, single Range,
// If-Range, If-None-Match (docs/protocol.md#artifacts; RFC 9110 §13-14).
// Kept rather than @fastify/static: artifacts are read through the ArtifactStore interface
// (the memory cache in front of the file store, another store tomorrow), not from a directory
// @fastify/static could serve; the ETag is the content hash (strong, the same on every node,
// where @fastify/static derives one from mtime and size), a 416 answers the API's JSON error,
// and each byte sent is counted for metrics as the response pulls it.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { pipeline, Transform, type Readable } from 'node:stream';
import { decideRange, etagMatches, ifRangeAllows } from '../../artifacts/range.js';
import type { RouteOptions } from '../app.js';
import { FleetError } from '../../../runtime/errors.js';
import { HttpError } from '../errors.js';
import { abandonBody } from '../streamed-body.js';
import { artifactSchema, bearer, errorResponses, SHA256_PATTERN } from '../schemas.js';

const params = { type: 'object', required: ['sha256'], properties: { sha256: { type: 'string', pattern: SHA256_PATTERN } } } as const;

export const artifactRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config, observer }) => {
  const store = app.services.artifacts;
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

  app.put('/artifacts', {
    onRequest: [
      app.requireRole('operator'),
      async (request) => {
        const length = Number(request.headers['content-length'] ?? 0);
        if (length > config.maxArtifactBytes) throw new HttpError('too_large', `artifact exceeds ${config.maxArtifactBytes} bytes`);
      },
    ],
    schema: {
      operationId: 'uploadArtifact',
      summary: 'Upload an artifact (raw bytes, application/octet-stream); content-addressed by SHA-256',
      tags: ['artifacts'],
      security: bearer,
      consumes: ['application/octet-stream'],
      // Documentation only: an empty schema accepts the stream the parser hands over.
      body: { description: 'the artifact bytes' },
      response: { 200: artifactSchema, 201: artifactSchema, ...errorResponses },
    },
  }, async (request, reply) => {
    if (!String(request.headers['content-type'] ?? '').toLowerCase().startsWith('application/octet-stream')) {
      throw new HttpError('unsupported_media_type', 'send the artifact as application/octet-stream');
    }
    let stored;
    try {
      stored = await store.put(request.body as Readable, { maxBytes: config.maxArtifactBytes });
    } catch (error) {
      abandonBody(request, reply);
      if (error instanceof FleetError) throw error;
      // The client went away mid-upload: the store already removed its temp file.
      if (request.raw.destroyed || request.raw.readableAborted) throw new HttpError('upload_aborted', 'the upload was interrupted');
      throw error;
    }
    const uri = `${config.publicUrl}/v1/artifacts/${stored.sha256}`;
    return reply.status(stored.created ? 201 : 200).send({ sha256: stored.sha256, size: stored.size, uri });
  });

  const download = async (request: FastifyRequest<{ Params: { sha256: string } }>, reply: FastifyReply) => {
    const { sha256 } = request.params;
    const info = await store.stat(sha256);
    if (!info) throw new HttpError('not_found', `artifact ${sha256} not found`);
    // Content-addressed: the hash is a strong validator that never changes.
    const etag = `"${sha256}"`;
    void reply.header('etag', etag).header('accept-ranges', 'bytes').header('cache-control', 'public, max-age=31536000, immutable');
    if (etagMatches(request.headers['if-none-match'], etag)) return reply.status(304).send();
    const ifRange = request.headers['if-range'];
    const range = ifRangeAllows(typeof ifRange === 'string' ? ifRange : undefined, etag) ? decideRange(request.headers.range, info.size) : { kind: 'full' as const };
    if (range.kind === 'unsatisfiable') {
      return reply.status(416).header('content-range', `bytes */${info.size}`).type('application/json; charset=utf-8')
        .send({ code: 'range_not_satisfiable', message: `artifact has ${info.size} bytes` });
    }
    void reply.type('application/octet-stream');
    const [status, start, end] = range.kind === 'partial' ? [206, range.start, range.end] : [200, 0, info.size - 1];
    if (range.kind === 'partial') void reply.header('content-range', `bytes ${start}-${end}/${info.size}`);
    void reply.status(status).header('content-length', String(end - start + 1));
    // HEAD: headers only, without opening the file (Node sends no body for HEAD).
    if (request.method === 'HEAD') return reply.send();
    const body = range.kind === 'partial' ? store.read(sha256, range) : store.read(sha256);
    // Counted as the response pulls them (backpressure), so an aborted download counts about what was sent.
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        observer.artifactBytes(chunk.length);
        done(null, chunk);
      },
    });
    // Errors reach fastify through `counted` (pipeline destroys it); nothing more to do here.
    pipeline(body, counted, () => undefined);
    return reply.send(counted);
  };

  const bytes = (description: string) => ({ description, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } });
  const downloadSchema = {
    operationId: 'downloadArtifact',
    summary: 'Download an artifact (public: devices fetch payload.uri); Range and conditional requests',
    tags: ['artifacts'],
    params,
    response: {
      200: bytes('The whole artifact (ETag = "<sha256>", immutable)'),
      206: bytes('One byte range (Range, If-Range)'),
      304: { description: 'Not modified (If-None-Match)', type: 'null' },
      400: { $ref: 'ApiError#' },
      404: { $ref: 'ApiError#' },
      416: { $ref: 'ApiError#' },
    },
  };
  // An explicit HEAD route: fastify's automatic one would read the whole file to discard it.
  // The OpenAPI document lists it (as downloadArtifact-head), since devices and CDNs use it.
  app.get('/artifacts/:sha256', { exposeHeadRoute: false, schema: downloadSchema }, download);
  app.head('/artifacts/:sha256', {
    config: { swagger: { exposeHeadRoute: true } },
    schema: {
      ...downloadSchema,
      summary: 'Artifact headers (size, ETag, Accept-Ranges) without the body',
      response: { ...downloadSchema.response, 200: { description: 'The headers of a full download', type: 'null' }, 206: { description: 'The headers of a range', type: 'null' } },
    },
  }, download);
};
