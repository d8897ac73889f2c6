// The two multi-step API calls in-process tooling shares (the local stack, the demo, the test
// stacks, the benchmarks), on the shared client (api-client/): failures are its ApiCallError.
import { importDevices, importRelease, uploadArtifact, type ApiClient } from '../../api-client/index.js';
import { buildReleaseBody, formatWireTime, signRelease, type SigningKey } from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';

/** NDJSON lines per import request. */
const IMPORT_BATCH_LINES = 50_000;

/** Registers devices through `POST /v1/devices/import` (NDJSON, in bodies of 50,000 lines). */
export async function registerDevicesViaApi(
  client: ApiClient,
  devices: ReadonlyArray<{ id: string; publicKey: string; groups?: string[]; tags?: string[] }>,
  target: { vendorId: string; classId: string },
): Promise<number> {
  let imported = 0;
  for (let i = 0; i < devices.length; i += IMPORT_BATCH_LINES) {
    const lines = devices.slice(i, i + IMPORT_BATCH_LINES).map((d) => JSON.stringify({ id: d.id, publicKey: d.publicKey, vendorId: target.vendorId, classId: target.classId, groups: d.groups ?? [], tags: d.tags ?? [] }));
    const result = await importDevices(client, { bytes: `${lines.join('\n')}\n` });
    if (result.failed.length > 0) throw new Error(`device import refused ${result.failed.length} lines: ${JSON.stringify(result.failed.slice(0, 3))}`);
    imported += result.imported;
  }
  return imported;
}

/** Uploads `payload` as an artifact, signs its manifest with the release key (offline step), imports it. */
export async function publishReleaseViaApi(
  client: ApiClient,
  releaseKey: SigningKey,
  input: { releaseId: string; version: string; sequence: number; vendorId: string; classId: string; payload: Uint8Array; minSequence?: number },
): Promise<{ digest: string }> {
  const artifact = await uploadArtifact(client, { bytes: input.payload });
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
  return importRelease(client, signRelease(body, [releaseKey], nodeEd25519));
}
