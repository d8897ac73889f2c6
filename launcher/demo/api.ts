// A minimal typed caller of the orchestrator's HTTP API for in-process tooling (the local stack,
// the demo, the benchmark), and the two multi-step calls they share. Errors carry `{ code, message }`.
import { buildReleaseBody, formatWireTime, signRelease, type SigningKey } from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';

export class ApiCallError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'ApiCallError';
  }
}

export type ApiBody = string | Uint8Array | object | undefined;

export function apiCaller(baseUrl: string, token: string) {
  return async function call<T>(method: string, path: string, body?: ApiBody, contentType?: string): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    let payload: RequestInit['body'] | undefined;
    if (typeof body === 'string' || body instanceof Uint8Array) {
      payload = body as RequestInit['body'];
      headers['content-type'] = contentType ?? 'application/octet-stream';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await response.text();
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (!response.ok) {
      const error = (json ?? {}) as { code?: string; message?: string };
      throw new ApiCallError(response.status, error.code ?? 'http_error', `${method} ${path}: ${response.status} ${error.message ?? text}`);
    }
    return json as T;
  };
}

export type ApiCall = ReturnType<typeof apiCaller>;

/** Registers devices through `POST /v1/devices/import` (NDJSON, in bodies of 50,000 lines). */
export async function registerDevicesViaApi(
  api: ApiCall,
  devices: ReadonlyArray<{ id: string; publicKey: string; groups?: string[]; tags?: string[] }>,
  target: { vendorId: string; classId: string },
): Promise<number> {
  let imported = 0;
  for (let i = 0; i < devices.length; i += 50_000) {
    const lines = devices.slice(i, i + 50_000).map((d) => JSON.stringify({ id: d.id, publicKey: d.publicKey, vendorId: target.vendorId, classId: target.classId, groups: d.groups ?? [], tags: d.tags ?? [] }));
    const result = await api<{ imported: number; failed: unknown[] }>('POST', '/v1/devices/import', `${lines.join('\n')}\n`, 'application/x-ndjson');
    if (result.failed.length > 0) throw new Error(`device import refused ${result.failed.length} lines: ${JSON.stringify(result.failed.slice(0, 3))}`);
    imported += result.imported;
  }
  return imported;
}

/** Uploads `payload` as an artifact, signs its manifest with the release key (offline step), imports it. */
export async function publishReleaseViaApi(
  api: ApiCall,
  releaseKey: SigningKey,
  input: { releaseId: string; version: string; sequence: number; vendorId: string; classId: string; payload: Uint8Array; minSequence?: number },
): Promise<{ digest: string }> {
  const artifact = await api<{ sha256: string; size: number; uri: string }>('PUT', '/v1/artifacts', input.payload, 'application/octet-stream');
  const body = buildReleaseBody({
    releaseId: input.releaseId,
    version: input.version,
    sequence: input.sequence,
    vendorId: input.vendorId,
    classId: input.classId,
    payload: { sha256: artifact.sha256, size: artifact.size, uri: artifact.uri },
    ...(input.minSequence !== undefined ? { minSequence: input.minSequence } : {}),
    createdAt: formatWireTime(Date.now() / 1000),
  });
  return api<{ digest: string }>('POST', '/v1/releases', signRelease(body, [releaseKey], nodeEd25519));
}
