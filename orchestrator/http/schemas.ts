// JSON schemas shared by the routes: fastify validates requests and serializes responses with
// them, and @fastify/swagger turns them into /v1/openapi.json. Syntax mirrors docs/protocol.md#basics.

import { DEVICE_STATES } from '../../protocol/states.js';
import { HTTP_STATUS } from './errors.js';

export const DEVICE_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
export const NAME_ID_PATTERN = '^[A-Za-z0-9._-]{1,64}$';
export const SHA256_PATTERN = '^[0-9a-f]{64}$';

const deviceId = { type: 'string', pattern: DEVICE_ID_PATTERN } as const;
const nameId = { type: 'string', pattern: NAME_ID_PATTERN } as const;

export const errorSchema = {
  $id: 'ApiError',
  type: 'object',
  required: ['code', 'message'],
  properties: {
    // The contract: clients match these codes (each has one status, http/errors.ts), never the message.
    code: { type: 'string', enum: Object.keys(HTTP_STATUS).sort(), description: 'Stable snake_case error code; each has exactly one HTTP status.' },
    message: { type: 'string' },
    position: { type: 'integer', description: 'invalid_query: where in the query text (0-based) the problem starts' },
  },
} as const;

/** Every route may answer with these. */
export const errorResponses = {
  400: { $ref: 'ApiError#' },
  401: { $ref: 'ApiError#' },
  403: { $ref: 'ApiError#' },
  404: { $ref: 'ApiError#' },
  409: { $ref: 'ApiError#' },
  413: { $ref: 'ApiError#' },
  415: { $ref: 'ApiError#' },
  422: { $ref: 'ApiError#' },
  500: { $ref: 'ApiError#' },
} as const;

/**
 * POST /devices body. Types and lengths only: the field syntax is checked by the registry
 * (validate-device.ts) so that a bad field gets the same code as in a bulk import line.
 */
export const deviceInputSchema = {
  type: 'object',
  required: ['id', 'publicKey', 'vendorId', 'classId'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', maxLength: 64, description: `device id, ${DEVICE_ID_PATTERN}` },
    publicKey: { type: 'string', maxLength: 64, description: 'base64url (no padding) of the 32-byte Ed25519 public key' },
    vendorId: { type: 'string', maxLength: 64, description: NAME_ID_PATTERN },
    classId: { type: 'string', maxLength: 64, description: NAME_ID_PATTERN },
    groups: { type: 'array', maxItems: 32, items: { type: 'string', maxLength: 64 } },
    tags: { type: 'array', maxItems: 32, items: { type: 'string', maxLength: 64 } },
  },
} as const;

/** PATCH /devices/:id body; the registry checks syntax and bounds (validate-device.ts). */
export const devicePatchSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    groups: { type: 'array', maxItems: 32, items: { type: 'string', maxLength: 64 }, description: 'replaces the groups' },
    tags: { type: 'array', maxItems: 32, items: { type: 'string', maxLength: 64 }, description: 'replaces the tags' },
    attributes: {
      type: 'object',
      maxProperties: 32,
      additionalProperties: { type: ['string', 'null'], maxLength: 256 },
      description: 'merged into the stored attributes (names [A-Za-z0-9._-]{1,64}, string values up to 256 characters); null removes one; at most 32 in all',
    },
  },
} as const;

export const deviceSchema = {
  $id: 'Device',
  type: 'object',
  required: ['id', 'publicKey', 'vendorId', 'classId', 'groups', 'tags', 'revoked', 'createdAt'],
  properties: {
    id: { type: 'string' },
    publicKey: { type: 'string' },
    vendorId: { type: 'string' },
    classId: { type: 'string' },
    groups: { type: 'array', items: { type: 'string' } },
    tags: { type: 'array', items: { type: 'string' } },
    attributes: { type: 'object', additionalProperties: { type: 'string' } },
    reportedAttributes: {
      type: 'object',
      additionalProperties: { type: ['string', 'integer'] },
      description: 'what the device last reported about itself (docs/protocol.md#status-report: hwrev, freeStorage, free-form); a query\'s attributes.<name> reads the operator\'s value first, then this',
    },
    reportedAt: { type: 'string', description: 'report time of the report that carried reportedAttributes' },
    revoked: { type: 'boolean' },
    createdAt: { type: 'string' },
    revokedAt: { type: 'string' },
    installedReleaseId: { type: 'string' },
    installedSequence: { type: 'integer' },
    rootVersion: { type: 'integer' },
    lastStatus: {
      type: 'object',
      additionalProperties: true,
      properties: { rolloutId: { type: 'string' }, state: { type: 'string' }, reason: { type: 'string' }, at: { type: 'string' } },
    },
    lastSeenAt: { type: 'string' },
    presence: { type: 'string', enum: ['online', 'offline'] },
    statusEpoch: { type: 'integer' },
    statusRefused: {
      type: 'object',
      additionalProperties: true,
      description: 'the last status report refused for its order (docs/protocol.md#status-report): reason stale or stale_epoch',
      properties: {
        reason: { type: 'string' }, rolloutId: { type: 'string' }, counter: { type: 'integer' }, epoch: { type: 'integer' }, seq: { type: 'integer' },
        lastEpoch: { type: 'integer' }, lastSeq: { type: 'integer' }, at: { type: 'string' },
      },
    },
    statusRefusedCount: { type: 'integer' },
  },
} as const;

export const deviceParams = {
  type: 'object',
  required: ['id'],
  properties: { id: deviceId },
} as const;

export const deviceListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    group: nameId,
    tag: nameId,
    vendorId: nameId,
    classId: nameId,
    revoked: { type: 'boolean' },
    installedReleaseId: nameId,
    idPrefix: { type: 'string', pattern: DEVICE_ID_PATTERN, description: 'devices whose id starts with this' },
    presence: { type: 'string', enum: ['online', 'offline', 'unknown'] },
    lastState: { type: 'string', enum: [...DEVICE_STATES], description: 'state of the last status report' },
    q: { type: 'string', description: 'device query (docs/design.md#device-queries), e.g. hwrev==B;attributes.freeStorage=gt=100000;tag=in=(eu,beta); at most 2048 characters; a bad one is 422 invalid_query with its position' },
    cursor: deviceId,
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
  },
} as const;

export const importResultSchema = {
  type: 'object',
  required: ['imported', 'failedCount', 'failed'],
  properties: {
    imported: { type: 'integer' },
    updated: { type: 'integer', description: 'with ?upsert=true: existing devices whose groups and tags were replaced' },
    failedCount: { type: 'integer' },
    failed: {
      type: 'array',
      items: {
        type: 'object',
        required: ['line', 'code', 'message'],
        properties: { line: { type: 'integer' }, code: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const;

export const artifactSchema = {
  type: 'object',
  required: ['sha256', 'size', 'uri'],
  properties: { sha256: { type: 'string' }, size: { type: 'integer' }, uri: { type: 'string' } },
} as const;

/** A signed envelope ({ signed, signatures }); protocol/'s zod schemas check the contents. */
export const envelopeInputSchema = {
  type: 'object',
  required: ['signed', 'signatures'],
  additionalProperties: false,
  properties: {
    signed: { type: 'object', additionalProperties: true },
    signatures: {
      type: 'array',
      maxItems: 16,
      items: {
        type: 'object',
        required: ['keyid', 'sig'],
        additionalProperties: false,
        properties: { keyid: { type: 'string', maxLength: 64 }, sig: { type: 'string', maxLength: 128 } },
      },
    },
  },
} as const;

export const envelopeSchema = {
  $id: 'Envelope',
  type: 'object',
  required: ['signed', 'signatures'],
  properties: {
    signed: { type: 'object', additionalProperties: true },
    signatures: {
      type: 'array',
      items: { type: 'object', properties: { keyid: { type: 'string' }, sig: { type: 'string' } } },
    },
  },
} as const;

const releaseSummaryProperties = {
  releaseId: { type: 'string' },
  version: { type: 'string' },
  sequence: { type: 'integer' },
  vendorId: { type: 'string' },
  classId: { type: 'string' },
  digest: { type: 'string', description: 'manifest digest: hex SHA-256 of the canonical signed body' },
  importedAt: { type: 'string' },
} as const;

export const releaseSummarySchema = {
  type: 'object',
  required: Object.keys(releaseSummaryProperties),
  properties: {
    ...releaseSummaryProperties,
    payload: { type: 'object', properties: { sha256: { type: 'string' }, size: { type: 'integer' }, uri: { type: 'string' } } },
  },
} as const;

export const releaseSchema = {
  type: 'object',
  required: [...Object.keys(releaseSummaryProperties), 'envelope'],
  properties: { ...releaseSummaryProperties, envelope: { $ref: 'Envelope#' } },
} as const;

export const releaseParams = {
  type: 'object',
  required: ['id'],
  properties: { id: nameId },
} as const;

export const releaseListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { vendorId: nameId, classId: nameId, limit: { type: 'integer', minimum: 1, maximum: 1000 } },
} as const;

export const summarySchema = {
  type: 'object',
  required: ['total', 'revoked', 'byClass', 'byInstalledRelease', 'byPresence', 'computedAt'],
  properties: {
    total: { type: 'integer' },
    revoked: { type: 'integer' },
    byClass: {
      type: 'array',
      items: { type: 'object', properties: { vendorId: { type: 'string' }, classId: { type: 'string' }, count: { type: 'integer' } } },
    },
    byInstalledRelease: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          releaseId: { type: ['string', 'null'] },
          version: { type: ['string', 'null'] },
          sequence: { type: ['integer', 'null'] },
          count: { type: 'integer' },
        },
      },
    },
    byPresence: {
      type: 'object',
      properties: { online: { type: 'integer' }, offline: { type: 'integer' }, unknown: { type: 'integer' } },
    },
    computedAt: { type: 'string' },
  },
} as const;

/** Routes that need a token declare it for the OpenAPI document. */
export const bearer = [{ bearerAuth: [] }];
