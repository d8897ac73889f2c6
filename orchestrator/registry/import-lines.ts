// Streaming line reader and the two import formats (NDJSON, CSV) turned into device inputs.
// Bounded: a total byte limit and a per-line limit; a bad line is a coded failure, never a throw.
import { StringDecoder } from 'node:string_decoder';
import { parse as parseCsv } from 'csv-parse/sync';
import { RegistryError } from './errors.js';
import { validateDeviceInput, type DeviceInputResult } from './validate-device.js';

/** One import line: a device, or why not (its own format's codes beside the device's). */
export type ImportLineResult = DeviceInputResult | { ok: false; code: 'bad_csv' | 'bad_json'; message: string };

export type ImportFormat = 'ndjson' | 'csv';

export interface Line {
  /** 1-based line number in the body. */
  number: number;
  text: string;
  /** The line was longer than the limit; `text` is empty. */
  tooLong?: true;
}

/**
 * Splits a byte stream into lines (LF or CRLF) without holding more than one line. Throws
 * RegistryError `too_large` once more than `maxBytes` arrive.
 */
export async function* readLines(source: AsyncIterable<Buffer | string>, limits: { maxBytes: number; maxLineChars: number }): AsyncGenerator<Line> {
  const decoder = new StringDecoder('utf8');
  let total = 0;
  let number = 0;
  let carry = '';
  let skipping = false;
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    total += bytes;
    if (total > limits.maxBytes) throw new RegistryError('too_large', `import body exceeds ${limits.maxBytes} bytes`);
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const piece = carry + text.slice(start, end);
      carry = '';
      start = end + 1;
      number++;
      if (skipping || piece.length > limits.maxLineChars) {
        skipping = false;
        yield { number, text: '', tooLong: true };
      } else {
        yield { number, text: piece.endsWith('\r') ? piece.slice(0, -1) : piece };
      }
    }
    if (!skipping) {
      carry += text.slice(start);
      // A line that can no longer fit is dropped as it streams, not buffered.
      if (carry.length > limits.maxLineChars) {
        skipping = true;
        carry = '';
      }
    }
  }
  const rest = carry + decoder.end();
  if (skipping) yield { number: number + 1, text: '', tooLong: true };
  else if (rest.length > 0) yield { number: number + 1, text: rest.endsWith('\r') ? rest.slice(0, -1) : rest };
}

/**
 * RFC 4180 fields of one CSV record (no line breaks inside quoted fields); undefined if
 * malformed (an unclosed quote, text after a closing quote, a quote inside an unquoted field).
 * csv-parse per line rather than over the whole stream: readLines keeps the byte and line
 * limits, the line numbers failures report, and a bad line costing only itself.
 */
export function splitCsvRow(row: string): string[] | undefined {
  // csv-parse reads an empty input as no record; here it is one empty field.
  if (row === '') return [''];
  let records: string[][];
  try {
    records = parseCsv(row, { record_delimiter: '\n' }) as string[][];
  } catch {
    return undefined;
  }
  return records.length === 1 ? records[0] : undefined;
}

const CSV_REQUIRED = ['id', 'publicKey', 'vendorId', 'classId'] as const;
const CSV_OPTIONAL = ['groups', 'tags'] as const;

/** Column positions from a CSV header; throws RegistryError `bad_csv_header` unless usable. */
export function parseCsvHeader(text: string): Map<string, number> {
  const names = splitCsvRow(text.replace(/^\uFEFF/, ''));
  const columns = new Map<string, number>();
  names?.forEach((name, index) => columns.set(name.trim(), index));
  const known = new Set<string>([...CSV_REQUIRED, ...CSV_OPTIONAL]);
  const missing = CSV_REQUIRED.filter((name) => !columns.has(name));
  const unknown = [...columns.keys()].filter((name) => !known.has(name));
  if (!names || missing.length > 0 || unknown.length > 0 || columns.size !== names.length) {
    throw new RegistryError('bad_csv_header', `CSV header must name ${[...CSV_REQUIRED, ...CSV_OPTIONAL].join(',')} (groups and tags optional)`);
  }
  return columns;
}

/** `a;b;c` → ['a','b','c']; empty → []. */
function semicolonList(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return [];
  return text.split(';').map((item) => item.trim()).filter((item) => item.length > 0);
}

export function parseCsvDevice(text: string, columns: Map<string, number>): ImportLineResult {
  const fields = splitCsvRow(text);
  if (!fields) return { ok: false, code: 'bad_csv', message: 'malformed CSV row' };
  if (fields.length !== columns.size) return { ok: false, code: 'bad_csv', message: `expected ${columns.size} fields, got ${fields.length}` };
  const at = (name: string) => {
    const index = columns.get(name);
    return index === undefined ? undefined : fields[index];
  };
  return validateDeviceInput({
    id: at('id')?.trim(),
    publicKey: at('publicKey')?.trim(),
    vendorId: at('vendorId')?.trim(),
    classId: at('classId')?.trim(),
    groups: semicolonList(at('groups')),
    tags: semicolonList(at('tags')),
  });
}

export function parseNdjsonDevice(text: string): ImportLineResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'bad_json', message: 'line is not valid JSON' };
  }
  return validateDeviceInput(value);
}
