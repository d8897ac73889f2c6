// Typed calls for the routes more than one caller shares (device import, artifact upload,
// release import, the root chain). The shapes are the API's answers as docs/design.md and the
// OpenAPI document (/v1/docs) describe them; wire documents are protocol/'s types.
import type { Readable } from 'node:stream';
import type { ReleaseEnvelope, RootEnvelope } from '../protocol/index.js';
import type { ApiClient } from './create-api-client.js';

/** POST /v1/devices/import: counts, and the first refused lines (numbered from 1 per request). */
export interface DeviceImportResult {
  imported: number;
  /** With upsert: devices already registered with the same identity, whose groups and tags were replaced. */
  updated?: number;
  failedCount: number;
  failed: Array<{ line: number; code: string; message: string }>;
}

/** PUT /v1/artifacts: what a release manifest's `payload` names. */
export interface StoredArtifactInfo {
  sha256: string;
  size: number;
  uri: string;
}

/** POST /v1/releases, GET /v1/releases/:id: the stored release (the envelope on a read). */
export interface ReleaseInfo {
  releaseId: string;
  version: string;
  sequence: number;
  vendorId: string;
  classId: string;
  digest: string;
  importedAt: string;
  envelope?: ReleaseEnvelope;
}

export const IMPORT_CONTENT_TYPES = { ndjson: 'application/x-ndjson', csv: 'text/csv' } as const;
export type ImportFormat = keyof typeof IMPORT_CONTENT_TYPES;

export type UploadSource =
  | { bytes: string | Uint8Array }
  | { stream: Readable; length?: number; onProgress?: (sentBytes: number) => void };

/** Imports devices from NDJSON or CSV (a string or a stream); `upsert` replaces groups and tags of repeats. */
export function importDevices(client: ApiClient, source: UploadSource, options: { format?: ImportFormat; upsert?: boolean } = {}): Promise<DeviceImportResult> {
  const contentType = IMPORT_CONTENT_TYPES[options.format ?? 'ndjson'];
  return client.request<DeviceImportResult>('POST', `/v1/devices/import${options.upsert ? '?upsert=true' : ''}`, { ...source, contentType });
}

/** Stores an artifact (content-addressed); the answer's uri goes into the release manifest. */
export function uploadArtifact(client: ApiClient, source: UploadSource): Promise<StoredArtifactInfo> {
  return client.request<StoredArtifactInfo>('PUT', '/v1/artifacts', { ...source, contentType: 'application/octet-stream' });
}

/** Imports a release manifest signed offline. */
export function importRelease(client: ApiClient, envelope: unknown): Promise<ReleaseInfo> {
  return client.request<ReleaseInfo>('POST', '/v1/releases', { json: envelope });
}

/** Publishes a root version signed offline. */
export function publishRoot(client: ApiClient, envelope: unknown): Promise<RootEnvelope> {
  return client.request<RootEnvelope>('POST', '/v1/roots', { json: envelope });
}

/**
 * GET /v1/roots: the public root chain, oldest first, as served: not verified, so a device
 * trusts it only after checking each against the schema and walking the chain.
 */
export async function listRoots(client: ApiClient): Promise<RootEnvelope[]> {
  const body = await client.request<{ roots?: unknown } | undefined>('GET', '/v1/roots');
  return Array.isArray(body?.roots) ? (body.roots as RootEnvelope[]) : [];
}
