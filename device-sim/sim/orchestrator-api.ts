// The two orchestrator calls the simulator makes, through the shared API client: the public
// root chain (its trust anchor, verified here as a device would) and bulk device registration.
// HTTP only: device-sim imports nothing server-side (api-client/ is not server code).
import { ApiCallError, createApiClient, importDevices, listRoots, type ApiClient } from '../../api-client/index.js';
import { rootEnvelope, updateRoot, verifyTrustAnchor, type Ed25519, type RootEnvelope } from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import { AgentError } from '../agent/errors.js';
import type { SimDevice } from './provision.js';

export const API_LIMITS = {
  /** Devices per import request (NDJSON lines). */
  importBatch: 1_000,
  /** Response bodies read at most this large. */
  maxResponseBytes: 4 * 1024 * 1024,
  timeoutMs: 30_000,
} as const;

function simApiClient(api: string, token?: string): ApiClient {
  return createApiClient({ baseUrl: api, ...(token ? { token } : {}), timeoutMs: API_LIMITS.timeoutMs, maxResponseBytes: API_LIMITS.maxResponseBytes });
}

/**
 * GET /v1/roots and the newest root, trusted only after walking the chain from the first
 * (which must verify by itself) as a device would (docs/protocol.md#root-document).
 * Fails with ApiCallError (the call) or AgentError no_root / root_chain (the chain).
 */
export async function fetchTrustAnchor(api: string, nowSeconds: number, ed25519: Ed25519 = nodeEd25519): Promise<RootEnvelope> {
  const list = await listRoots(simApiClient(api));
  if (list.length === 0) throw new AgentError('no_root', 'the orchestrator has no root published');
  const roots: RootEnvelope[] = [];
  for (const item of list) {
    const parsed = rootEnvelope.safeParse(item);
    if (!parsed.success) throw new AgentError('root_chain', 'a root in the chain does not match the schema');
    roots.push(parsed.data);
  }
  roots.sort((a, b) => a.signed.version - b.signed.version);
  try {
    const first = verifyTrustAnchor(roots[0]!, ed25519);
    const newest = updateRoot(first, roots.slice(1), nowSeconds, ed25519);
    return roots.find((r) => r.signed.version === newest.version)!;
  } catch (error) {
    throw new AgentError('root_chain', `root chain refused: ${(error as { code?: string }).code ?? 'invalid'}`);
  }
}

export interface RegisterResult {
  imported: number;
  /** Already registered with these very keys (the import upserts). */
  updated: number;
  failedCount: number;
  failed: Array<{ line: number; code: string; message: string }>;
  /** Devices the registry holds under other keys or another class: they can never connect. */
  conflicts: string[];
}

/** Codes an upserting import answers for a device registered with another identity. */
const CONFLICT_CODES = new Set(['public_key_differs', 'class_differs', 'device_exists']);
/** Conflicting device ids kept for the message (from the failures the server lists). */
const MAX_CONFLICTS_LISTED = 1_000;

/**
 * POST /v1/devices/import?upsert=true in batches (application/x-ndjson), with the operator's
 * token; each device tagged `sim.<profile>` so a rollout can target a profile. Upsert: a restart
 * with the same identities is not a failure; identities that differ from the registry's are
 * reported as conflicts.
 */
export async function registerDevices(api: string, token: string, devices: readonly SimDevice[], batch: number = API_LIMITS.importBatch): Promise<RegisterResult> {
  const client = simApiClient(api, token);
  const total: RegisterResult = { imported: 0, updated: 0, failedCount: 0, failed: [], conflicts: [] };
  for (let start = 0; start < devices.length; start += batch) {
    const lines = devices.slice(start, start + batch)
      .map((d) => JSON.stringify({ id: d.id, publicKey: d.publicKey, vendorId: d.vendorId, classId: d.classId, groups: [], tags: [`sim.${d.profile}`] }));
    const result = await importDevices(client, { bytes: `${lines.join('\n')}\n` }, { upsert: true }) as Partial<RegisterResult> | undefined;
    if (typeof result?.imported !== 'number') throw new ApiCallError('bad_response', 'bad_response', 'import answered without a count');
    total.imported += result.imported;
    total.updated += typeof result.updated === 'number' ? result.updated : 0;
    total.failedCount += result.failedCount ?? 0;
    // Line numbers are per request; report them in fleet order.
    for (const f of result.failed ?? []) {
      if (total.failed.length < 20) total.failed.push({ ...f, line: f.line + start });
      const conflicting = devices[start + f.line - 1];
      if (CONFLICT_CODES.has(f.code) && conflicting && total.conflicts.length < MAX_CONFLICTS_LISTED) total.conflicts.push(conflicting.id);
    }
  }
  return total;
}
