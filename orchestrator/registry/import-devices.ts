// Bulk device import from a streamed NDJSON or CSV body: lines are parsed as they arrive,
// batched, key-checked (worker threads, ahead of the writes) and written one Lua call per
// batch, in file order. Bad lines are reported by number; they never stop the import.
import type { RedisClient as Redis } from '../../state/redis.js';
import type { KeyChecker } from './key-checker.js';
import { REGISTRY_LIMITS } from './limits.js';
import { parseCsvDevice, parseCsvHeader, parseNdjsonDevice, readLines, type ImportFormat } from './import-lines.js';
import { registerDevices, updateDevices } from '../../state/registry/index.js';
import type { DeviceInput } from './validate-device.js';

export interface ImportFailure {
  line: number;
  code: string;
  message: string;
}

export interface ImportResult {
  imported: number;
  /** With upsert: existing devices whose groups and tags the import replaced. */
  updated?: number;
  /** Every failed line counts here; `failed` lists the first few. */
  failedCount: number;
  failed: ImportFailure[];
}

export interface ImportOptions {
  redis: Redis;
  prefix: string;
  keyChecker: KeyChecker;
  now: () => Date;
  maxBytes: number;
  batchSize?: number;
  maxReportedFailures?: number;
  /**
   * A line for a registered device replaces its groups and tags instead of failing with
   * device_exists, if it repeats the device's key, vendor and class (else public_key_differs /
   * class_differs: a key rotation is never a side effect of an import).
   */
  upsert?: boolean;
}

interface Batch {
  devices: DeviceInput[];
  lines: number[];
}

export async function importDevices(source: AsyncIterable<Buffer | string>, format: ImportFormat, options: ImportOptions): Promise<ImportResult> {
  const batchSize = options.batchSize ?? REGISTRY_LIMITS.importBatchSize;
  const maxReported = options.maxReportedFailures ?? REGISTRY_LIMITS.maxReportedFailures;
  const result: ImportResult = options.upsert ? { imported: 0, updated: 0, failedCount: 0, failed: [] } : { imported: 0, failedCount: 0, failed: [] };
  const fail = (line: number, code: string, message: string) => {
    result.failedCount++;
    if (result.failed.length < maxReported) result.failed.push({ line, code, message });
  };

  // Key checks of later batches run while earlier ones are written; writes stay in file order
  // so a duplicate id resolves to its first line. In-flight batches are bounded (backpressure).
  const maxInFlight = 4;
  const inFlight: Promise<void>[] = [];
  let writes: Promise<void> = Promise.resolve();
  const dispatch = (batch: Batch) => {
    const verdicts = options.keyChecker.check(batch.devices.map((d) => d.publicKey));
    // Awaited below; this only keeps a failure after an earlier one from going unhandled.
    verdicts.catch(() => {});
    writes = writes.then(async () => {
      const ok = await verdicts;
      const accepted: DeviceInput[] = [];
      const acceptedLines: number[] = [];
      batch.devices.forEach((device, i) => {
        if (ok[i]) {
          accepted.push(device);
          acceptedLines.push(batch.lines[i]!);
        } else {
          fail(batch.lines[i]!, 'invalid_public_key', 'publicKey is not an acceptable Ed25519 public key (curve point of prime order)');
        }
      });
      const created = await registerDevices(options.redis, options.prefix, accepted, options.now());
      const existing: number[] = [];
      created.forEach((isNew, i) => {
        if (isNew) result.imported++;
        else if (options.upsert) existing.push(i);
        else fail(acceptedLines[i]!, 'device_exists', `device ${accepted[i]!.id} is already registered`);
      });
      if (existing.length === 0) return;
      const outcomes = await updateDevices(options.redis, options.prefix, existing.map((i) => {
        const d = accepted[i]!;
        return { id: d.id, expectPublicKey: d.publicKey, expectClass: { vendorId: d.vendorId, classId: d.classId }, groups: d.groups, tags: d.tags };
      }), REGISTRY_LIMITS.maxAttributesPerDevice);
      outcomes.forEach((outcome, j) => {
        const i = existing[j]!;
        const id = accepted[i]!.id;
        if (outcome === 'updated') result.updated = (result.updated ?? 0) + 1;
        else if (outcome === 'public_key_differs') fail(acceptedLines[i]!, outcome, `device ${id} is registered with another public key (revoke it and register a new id to rotate)`);
        else if (outcome === 'class_differs') fail(acceptedLines[i]!, outcome, `device ${id} is registered with another vendor/class`);
        else fail(acceptedLines[i]!, outcome, `device ${id} could not be updated (${outcome})`);
      });
    });
    inFlight.push(writes);
  };

  let batch: Batch = { devices: [], lines: [] };
  let columns: Map<string, number> | undefined;
  try {
    for await (const line of readLines(source, { maxBytes: options.maxBytes, maxLineChars: REGISTRY_LIMITS.maxImportLineChars })) {
      if (line.tooLong) {
        fail(line.number, 'line_too_long', `line exceeds ${REGISTRY_LIMITS.maxImportLineChars} characters`);
        continue;
      }
      if (line.text.trim() === '') continue;
      if (format === 'csv' && !columns) {
        columns = parseCsvHeader(line.text);
        continue;
      }
      const parsed = format === 'csv' ? parseCsvDevice(line.text, columns!) : parseNdjsonDevice(line.text);
      if (!parsed.ok) {
        fail(line.number, parsed.code, parsed.message);
        continue;
      }
      batch.devices.push(parsed.device);
      batch.lines.push(line.number);
      if (batch.devices.length >= batchSize) {
        dispatch(batch);
        batch = { devices: [], lines: [] };
        if (inFlight.length >= maxInFlight) await inFlight.shift();
      }
    }
    if (batch.devices.length > 0) dispatch(batch);
  } finally {
    // Whatever was dispatched finishes (or fails) before the import answers.
    await writes.catch(() => {});
  }
  await writes;
  result.failed.sort((a, b) => a.line - b.line);
  return result;
}
