// POST /v1/devices/import: the body (NDJSON or CSV) is handed to the registry as a stream,
// never buffered whole; its size is bounded by FLEET_MAX_IMPORT_BYTES.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../app.js';
import { counts } from '../audit-hook.js';
import { HttpError } from '../errors.js';
import { bearer, errorResponses, importResultSchema } from '../schemas.js';
import { abandonBody, bodyChunks } from '../streamed-body.js';

const FORMATS: Record<string, 'ndjson' | 'csv'> = {
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'text/csv': 'csv',
};

export const deviceImportRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config }) => {
  // Scoped to this plugin: the body stays a stream for the handler.
  app.addContentTypeParser(Object.keys(FORMATS), (_request, payload, done) => done(null, payload));

  app.post<{ Querystring: { upsert?: boolean } }>('/devices/import', {
    config: { audit: { action: 'device.import', target: () => 'devices', detail: (body) => counts(body, ['imported', 'updated', 'failedCount']) } },
    onRequest: [
      app.requireRole('operator'),
      async (request) => {
        // A declared oversize body is refused before a byte is read: nothing changes.
        const length = Number(request.headers['content-length'] ?? 0);
        if (length > config.maxImportBytes) throw new HttpError('too_large', `import body exceeds ${config.maxImportBytes} bytes`);
      },
    ],
    schema: {
      operationId: 'importDevices',
      summary: 'Bulk import devices (application/x-ndjson lines or text/csv with header id,publicKey,vendorId,classId,groups,tags)',
      description: 'Streamed. Bad lines are reported by number and skipped; groups and tags in CSV are ";"-separated.',
      tags: ['devices'],
      security: bearer,
      consumes: Object.keys(FORMATS),
      querystring: { type: 'object', additionalProperties: false, properties: { upsert: { type: 'boolean', default: false, description: 'a line for a registered device (same key, vendor and class) replaces its groups and tags instead of failing device_exists' } } },
      // Documentation only: an empty schema accepts the stream the parser hands over.
      body: { description: 'NDJSON: one {"id","publicKey","vendorId","classId","groups":[],"tags":[]} per line. CSV: a header line, then one device per line.' },
      response: { 200: importResultSchema, ...errorResponses },
    },
  }, async (request, reply) => {
    const mediaType = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const format = FORMATS[mediaType];
    if (!format) throw new HttpError('unsupported_media_type', 'send application/x-ndjson or text/csv');
    try {
      return await app.services.registry.import(bodyChunks(request), format, { maxBytes: config.maxImportBytes, upsert: request.query.upsert ?? false });
    } catch (error) {
      abandonBody(request, reply);
      throw error;
    }
  });
};
