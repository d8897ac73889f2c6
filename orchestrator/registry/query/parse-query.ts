// Parses a device query (docs/design.md#device-queries): the FIQL / RSQL syntax of hawkBit's
// target filters, e.g. `hwrev==B;attributes.freeStorage=gt=100000;tag=in=(eu,beta)`, into a
// tree whose every comparison knows its place in the text. Does not evaluate (match-query.ts).
//
// Hand-written recursive descent rather than @rsql/parser (the npm RSQL parser): that one
// reports a syntax error's place only inside its message text and its tree carries no
// positions, so an unknown field or a non-numeric `=gt=` value could not be pointed at; the
// grammar is small enough (two logic operators, parentheses, eight comparison operators) that
// owning it costs less than re-deriving positions from its output.
//
// Grammar (RSQL's, less its `<` `>` aliases and its `and` / `or` words: one spelling each):
//   or         = and { "," and }
//   and        = constraint { ";" constraint }
//   constraint = "(" or ")" | comparison
//   comparison = field operator argument
//   operator   = "==" | "!=" | "=in=" | "=out=" | "=gt=" | "=ge=" | "=lt=" | "=le="
//   argument   = value | "(" value { "," value } ")"
//   value      = unreserved+ | '"' ... '"' | "'" ... "'"   (backslash escapes the next character)
// `;` binds tighter than `,`. Spaces are allowed between tokens.
import { QueryError } from './errors.js';
import { QUERY_LIMITS } from './limits.js';

/** Fields a query may name (docs/design.md#device-queries says what each reads). */
export const QUERY_FIELDS = ['id', 'group', 'tag', 'vendorId', 'classId', 'installed', 'sequence', 'presence', 'hwrev', 'freeStorage'] as const;
export type QueryFieldName = (typeof QUERY_FIELDS)[number];

/** A field: a named one, or one attribute (`attributes.<name>`; `hwrev` and `freeStorage` are attributes too). */
export type QueryField = { kind: 'field'; name: Exclude<QueryFieldName, 'hwrev' | 'freeStorage'> } | { kind: 'attribute'; name: string };

export const QUERY_OPERATORS = ['==', '!=', '=in=', '=out=', '=gt=', '=ge=', '=lt=', '=le='] as const;
export type QueryOperator = (typeof QUERY_OPERATORS)[number];

export type QueryNode =
  | { kind: 'and' | 'or'; children: QueryNode[] }
  | { kind: 'compare'; field: QueryField; operator: QueryOperator; values: string[]; position: number };

/** Attribute names: the registry's attribute name syntax (validate-device.ts). */
const ATTRIBUTE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const ATTRIBUTE_PREFIX = 'attributes.';
/** RSQL's reserved characters: they end an unquoted field or value. */
const RESERVED = new Set(['"', "'", '(', ')', ';', ',', '=', '!', '~', '<', '>', ' ', '\t', '\n', '\r']);
const INTEGER = /^-?(0|[1-9][0-9]*)$/;
const NUMERIC_FIELDS = new Set(['sequence']);
const PRESENCE = new Set(['online', 'offline', 'unknown']);
const ORDER_OPERATORS = new Set<QueryOperator>(['=gt=', '=ge=', '=lt=', '=le=']);
const LIST_OPERATORS = new Set<QueryOperator>(['=in=', '=out=']);

/** A safe integer in decimal (no sign but `-`, no leading zeros). */
export function queryInteger(text: string): number | undefined {
  if (!INTEGER.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

class Parser {
  private at = 0;
  private comparisons = 0;

  constructor(private readonly text: string) {}

  parse(): QueryNode {
    this.space();
    if (this.at >= this.text.length) throw new QueryError(0, 'empty query: give at least one comparison such as tag==beta');
    const node = this.or(0);
    this.space();
    if (this.at < this.text.length) {
      const c = this.text[this.at];
      throw new QueryError(this.at, c === ')' ? "unmatched ')'" : `unexpected ${JSON.stringify(c)}: comparisons are joined by ';' (and) or ',' (or)`);
    }
    return node;
  }

  private space(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at]!)) this.at++;
  }

  private peek(): string | undefined {
    this.space();
    return this.text[this.at];
  }

  private or(depth: number): QueryNode {
    const children = [this.and(depth)];
    while (this.peek() === ',') {
      this.at++;
      children.push(this.and(depth));
    }
    return children.length === 1 ? children[0]! : { kind: 'or', children };
  }

  private and(depth: number): QueryNode {
    const children = [this.constraint(depth)];
    while (this.peek() === ';') {
      this.at++;
      children.push(this.constraint(depth));
    }
    return children.length === 1 ? children[0]! : { kind: 'and', children };
  }

  private constraint(depth: number): QueryNode {
    if (this.peek() === '(') {
      const open = this.at;
      if (depth + 1 > QUERY_LIMITS.maxDepth) throw new QueryError(open, `parentheses nested deeper than ${QUERY_LIMITS.maxDepth}`);
      this.at++;
      const node = this.or(depth + 1);
      if (this.peek() !== ')') throw new QueryError(this.at, `expected ')' to close the '(' at position ${open}`);
      this.at++;
      return node;
    }
    return this.comparison();
  }

  private unreserved(): string {
    const from = this.at;
    while (this.at < this.text.length && !RESERVED.has(this.text[this.at]!)) this.at++;
    return this.text.slice(from, this.at);
  }

  private field(): { field: QueryField; position: number; numeric: boolean } {
    this.space();
    const position = this.at;
    const name = this.unreserved();
    if (name === '') {
      const c = this.text[this.at];
      throw new QueryError(position, c === undefined ? 'expected a field name, found the end of the query' : `expected a field name, found ${JSON.stringify(c)}`);
    }
    if (name.startsWith(ATTRIBUTE_PREFIX)) {
      const attribute = name.slice(ATTRIBUTE_PREFIX.length);
      if (!ATTRIBUTE_NAME.test(attribute)) throw new QueryError(position + ATTRIBUTE_PREFIX.length, 'attribute names match [A-Za-z0-9._-]{1,64}');
      return { field: { kind: 'attribute', name: attribute }, position, numeric: true };
    }
    if (!(QUERY_FIELDS as readonly string[]).includes(name)) {
      throw new QueryError(position, `unknown field ${JSON.stringify(name.slice(0, 64))}: fields are ${QUERY_FIELDS.join(', ')} and attributes.<name>`);
    }
    if (name === 'hwrev' || name === 'freeStorage') return { field: { kind: 'attribute', name }, position, numeric: true };
    return { field: { kind: 'field', name: name as Exclude<QueryFieldName, 'hwrev' | 'freeStorage'> }, position, numeric: NUMERIC_FIELDS.has(name) };
  }

  private operator(): { operator: QueryOperator; position: number } {
    this.space();
    const position = this.at;
    let end = this.at;
    if (this.text[end] === '!' && this.text[end + 1] === '=') end += 2;
    else if (this.text[end] === '=') {
      end++;
      while (end < this.text.length && /[a-z]/i.test(this.text[end]!)) end++;
      if (this.text[end] === '=') end++;
    }
    const operator = this.text.slice(position, end);
    if (!(QUERY_OPERATORS as readonly string[]).includes(operator)) {
      throw new QueryError(position, `expected an operator (${QUERY_OPERATORS.join(' ')}), found ${JSON.stringify(this.text.slice(position, Math.max(end, position + 1)))}`);
    }
    this.at = end;
    return { operator: operator as QueryOperator, position };
  }

  private value(): { value: string; position: number } {
    this.space();
    const position = this.at;
    const quote = this.text[this.at];
    let value: string;
    if (quote === '"' || quote === "'") {
      this.at++;
      value = '';
      for (;;) {
        if (this.at >= this.text.length) throw new QueryError(position, `unclosed ${quote}`);
        const c = this.text[this.at++]!;
        if (c === quote) break;
        if (c === '\\') {
          if (this.at >= this.text.length) throw new QueryError(position, `unclosed ${quote}`);
          value += this.text[this.at++];
        } else value += c;
      }
    } else {
      value = this.unreserved();
      if (value === '') {
        const c = this.text[this.at];
        throw new QueryError(position, c === undefined ? 'expected a value, found the end of the query' : `expected a value, found ${JSON.stringify(c)} (quote a value that holds it)`);
      }
    }
    if (value.length > QUERY_LIMITS.maxValueChars) throw new QueryError(position, `a value is at most ${QUERY_LIMITS.maxValueChars} characters`);
    return { value, position };
  }

  private comparison(): QueryNode {
    const { field, position, numeric } = this.field();
    if (++this.comparisons > QUERY_LIMITS.maxComparisons) throw new QueryError(position, `more than ${QUERY_LIMITS.maxComparisons} comparisons`);
    const op = this.operator();
    const values: Array<{ value: string; position: number }> = [];
    if (this.peek() === '(') {
      const open = this.at;
      if (!LIST_OPERATORS.has(op.operator)) throw new QueryError(open, `${op.operator} takes one value; a list (a,b) goes with =in= or =out=`);
      this.at++;
      values.push(this.value());
      while (this.peek() === ',') {
        this.at++;
        if (values.length === QUERY_LIMITS.maxListValues) throw new QueryError(this.at, `a list holds at most ${QUERY_LIMITS.maxListValues} values`);
        values.push(this.value());
      }
      if (this.peek() !== ')') throw new QueryError(this.at, `expected ',' or ')' in the list opened at position ${open}`);
      this.at++;
    } else {
      if (LIST_OPERATORS.has(op.operator)) throw new QueryError(this.at, `${op.operator} takes a list in parentheses, e.g. (eu,beta)`);
      values.push(this.value());
    }
    if (ORDER_OPERATORS.has(op.operator)) {
      if (!numeric) throw new QueryError(op.position, `${op.operator} compares numbers: it applies to sequence and attributes, not ${field.name}`);
      if (queryInteger(values[0]!.value) === undefined) throw new QueryError(values[0]!.position, `${op.operator} needs an integer, found ${JSON.stringify(values[0]!.value)}`);
    }
    if (field.kind === 'field' && field.name === 'presence') {
      const bad = values.find((v) => !PRESENCE.has(v.value));
      if (bad) throw new QueryError(bad.position, 'presence is online, offline or unknown');
    }
    return { kind: 'compare', field, operator: op.operator, values: values.map((v) => v.value), position };
  }
}

/** The query's tree, or QueryError (`invalid_query`) with the position of the first problem. */
export function parseQuery(text: string): QueryNode {
  if (text.length > QUERY_LIMITS.maxChars) throw new QueryError(QUERY_LIMITS.maxChars, `a query is at most ${QUERY_LIMITS.maxChars} characters`);
  return new Parser(text).parse();
}
