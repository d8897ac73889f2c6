// Bulk device import from a streamed NDJSON or CSV body: lines are parsed as they arrive,
// batched, key-checked (worker threads, ahead of the writes) and written one Lua call per
// batch, in file order. Bad lines are reported by number; they never stop the import.
import type { Redis } from 'ioredis';
import type { KeyChecker } from './key-checker.js';
import { REGISTRY_LIMITS } from './limits.js';
import { parseCsvDevice, parseCsvHeader, parseNdjsonDevice, readLines, type ImportFormat } from './import-lines.js';
import { registerDevices } from './register-devices.js';
import type { DeviceInput } from './validate-device.js';

export interface ImportFailure {
  line: number;
  code: string;
  message: string;
}

export interface ImportResult {
  imported: number;
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
}

interface Batch {
  devices: DeviceInput[];
  lines: number[];
}

export async function importDevices(source: AsyncIterable<Buffer | string>, format: ImportFormat, options: ImportOptions): Promise<ImportResult> {
  const batchSize = options.batchSize ?? REGISTRY_LIMITS.importBatchSize;
  const maxReported = options.maxReportedFailures ?? REGISTRY_LIMITS.maxReportedFailures;
  const result: ImportResult = { imported: 0, failedCount: 0, failed: [] };
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
      created.forEach((isNew, i) => {
        if (isNew) result.imported++;
        else fail(acceptedLines[i]!, 'device_exists', `device ${accepted[i]!.id} is already registered`);
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
