// Evaluates a parsed device query (parse-query.ts) against one device record, and finds the
// registry index that holds every match (so listing and targeting read fewer records). Pure.
import type { DeviceRecord } from '../../../state/device-record.js';
import type { DeviceIndex } from '../../../state/registry/index.js';
import { queryInteger, type QueryField, type QueryNode } from './parse-query.js';

/** The values a field has on a device: none when absent, several for groups and tags. */
function valuesOf(record: DeviceRecord, field: QueryField): string[] {
  if (field.kind === 'attribute') {
    // docs/design.md#device-queries: a value the operator set wins over the one the device reports.
    // Own members only: a name such as __proto__ must not reach Object.prototype.
    const own = <T>(map: Record<string, T> | undefined) => (map && Object.hasOwn(map, field.name) ? map[field.name] : undefined);
    const value = own(record.attributes) ?? own(record.reportedAttributes);
    return value === undefined ? [] : [String(value)];
  }
  switch (field.name) {
    case 'id':
      return [record.id];
    case 'group':
      return record.groups;
    case 'tag':
      return record.tags;
    case 'vendorId':
      return [record.vendorId];
    case 'classId':
      return [record.classId];
    case 'installed':
      return record.installedReleaseId === undefined ? [] : [record.installedReleaseId];
    case 'sequence':
      return record.installedSequence === undefined ? [] : [String(record.installedSequence)];
    case 'presence':
      return [record.presence ?? 'unknown'];
  }
}

const globs = new Map<string, RegExp>();

/** `*` matches any run of characters (RSQL's wildcard); everything else is literal. */
function equals(value: string, pattern: string): boolean {
  if (!pattern.includes('*')) return value === pattern;
  let re = globs.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
    // Patterns come from bounded queries; the cache is dropped before it grows large.
    if (globs.size > 1000) globs.clear();
    globs.set(pattern, re);
  }
  return re.test(value);
}

function compare(values: string[], operator: Extract<QueryNode, { kind: 'compare' }>['operator'], wanted: string[]): boolean {
  switch (operator) {
    case '==':
      return values.some((v) => equals(v, wanted[0]!));
    case '!=':
      return !values.some((v) => equals(v, wanted[0]!));
    case '=in=':
      return values.some((v) => wanted.some((w) => equals(v, w)));
    case '=out=':
      return !values.some((v) => wanted.some((w) => equals(v, w)));
    default: {
      // Order comparisons: numbers only; a value that is not an integer never matches.
      const bound = queryInteger(wanted[0]!)!;
      return values.some((text) => {
        const v = queryInteger(text);
        if (v === undefined) return false;
        return operator === '=gt=' ? v > bound : operator === '=ge=' ? v >= bound : operator === '=lt=' ? v < bound : v <= bound;
      });
    }
  }
}

export function matchesQuery(node: QueryNode, record: DeviceRecord): boolean {
  switch (node.kind) {
    case 'and':
      return node.children.every((child) => matchesQuery(child, record));
    case 'or':
      return node.children.some((child) => matchesQuery(child, record));
    case 'compare':
      return compare(valuesOf(record, node.field), node.operator, node.values);
  }
}

/**
 * An index every match of the query is in: a `group==x` or `tag==x` (no wildcard) that the
 * whole query requires, at its top or in its top-level `;` list. Undefined when there is none.
 */
export function queryIndex(node: QueryNode): DeviceIndex | undefined {
  const candidates = node.kind === 'and' ? node.children : [node];
  for (const c of candidates) {
    if (c.kind !== 'compare' || c.operator !== '==' || c.field.kind !== 'field' || c.values[0]!.includes('*')) continue;
    if (c.field.name === 'group') return { kind: 'group', name: c.values[0]! };
    if (c.field.name === 'tag') return { kind: 'tag', name: c.values[0]! };
  }
  return undefined;
}
