import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Document, Scalar, YAMLMap } from 'yaml';
import * as z from 'zod';
import type { KeyPath, Position, Problem } from './errors.js';

/**
 * YAML text -> plain values, the way Mutagen's decoder (yaml.v2 `UnmarshalStrict`, YAML 1.1)
 * reads its Go structs, guided by the zod schema in place of Go's reflection:
 * - a field the schema reads as text (strings, enums, modes, sizes) gets the scalar's text,
 *   quoted or not (`alpha: 123` is the path "123", `mode: 0644` is the text "0644");
 * - a boolean field takes only a plain YAML 1.1 boolean (`true`, `yes`, `on`…; `"yes"` is text
 *   and so a type error); a number field takes only a plain integer or float;
 * - a plain null (`~`, `null`, nothing) leaves a field unset, and is the zero value ("" or an
 *   empty mapping) inside lists and session maps;
 * - aliases and `<<` merge keys are followed; duplicate keys and unknown aliases are problems.
 * Everything else (wrong node kinds, unknown keys) is passed on for zod to report. Every value
 * keeps the position of the node it came from.
 */
export interface DecodedYaml {
  /** `undefined` when the file holds no document (empty or only comments). */
  readonly value: unknown;
  readonly problems: Problem[];
  readonly positions: PositionIndex;
}

interface Located {
  key: Position | undefined;
  value: Position;
  allowedKeys: readonly string[] | undefined;
}

/** Positions of decoded values and keys, looked up by key path (nearest known ancestor). */
export class PositionIndex {
  private readonly entries = new Map<string, Located>();

  set(path: KeyPath, entry: Located): void {
    this.entries.set(JSON.stringify(path), entry);
  }

  allow(path: KeyPath, keys: readonly string[]): void {
    const id = JSON.stringify(path);
    const found = this.entries.get(id);
    if (found !== undefined) found.allowedKeys = keys;
    else this.entries.set(id, { key: undefined, value: { line: 1, col: 1 }, allowedKeys: keys });
  }

  private nearest(path: KeyPath): Located | undefined {
    for (let length = path.length; length >= 0; length--) {
      const found = this.entries.get(JSON.stringify(path.slice(0, length)));
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** Where the value at `path` starts (or its nearest decoded ancestor). */
  value(path: KeyPath): Position {
    return this.nearest(path)?.value ?? { line: 1, col: 1 };
  }

  /** Where the key naming `path` starts; the value's position for list items and the root. */
  key(path: KeyPath): Position {
    const found = this.entries.get(JSON.stringify(path));
    return found?.key ?? found?.value ?? this.value(path);
  }

  /** The keys the schema allows for the mapping at `path`, if it is a known mapping. */
  allowedKeys(path: KeyPath): readonly string[] | undefined {
    return this.entries.get(JSON.stringify(path))?.allowedKeys;
  }
}

type Target =
  | { kind: 'boolean' | 'number' | 'text' | 'any' }
  | { kind: 'object'; shape: Readonly<Record<string, z.ZodType>> }
  | { kind: 'record'; value: z.ZodType }
  | { kind: 'array'; element: z.ZodType };

function targetOf(schema: z.ZodType | undefined): Target {
  let current: unknown = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodPipe) {
    current = current instanceof z.ZodPipe ? current.in : current.unwrap();
  }
  if (current instanceof z.ZodBoolean) return { kind: 'boolean' };
  if (current instanceof z.ZodNumber) return { kind: 'number' };
  if (current instanceof z.ZodObject) return { kind: 'object', shape: current.shape };
  if (current instanceof z.ZodRecord) return { kind: 'record', value: current.valueType as z.ZodType };
  if (current instanceof z.ZodArray) return { kind: 'array', element: current.element as z.ZodType };
  if (current instanceof z.ZodString || current instanceof z.ZodEnum) return { kind: 'text' };
  return { kind: 'any' };
}

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const TRUES = new Set(['true', 'True', 'TRUE', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const FALSES = new Set(['false', 'False', 'FALSE', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);
const FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const STRING_TAG = 'tag:yaml.org,2002:str';
const MAX_ALIASES = 10_000;

/** yaml.v2's integer forms (`_` separators; `0x`, `0o`, `0b`, and a leading `0` for octal). */
function parseYamlNumber(text: string): number | undefined {
  const plain = text.replaceAll('_', '');
  const match = /^([-+]?)(0x[0-9a-fA-F]+|0o[0-7]+|0b[01]+|0[0-7]+|[0-9]+)$/.exec(plain);
  if (match !== null) {
    const [, sign, digits = ''] = match;
    const value = /^0[0-7]/.test(digits) ? Number.parseInt(digits, 8) : Number(digits);
    return sign === '-' ? -value : value;
  }
  return FLOAT.test(plain) ? Number(plain) : undefined;
}

/** A marker for a plain null, which each container turns into "unset" or a zero value. */
const NULL = Symbol('null');
type Decoded = unknown;

class Decoder {
  readonly problems: Problem[] = [];
  readonly positions = new PositionIndex();
  private aliases = 0;

  constructor(
    private readonly document: Document.Parsed,
    private readonly lines: LineCounter,
    private readonly source: string,
  ) {}

  position(offset: number | undefined): Position {
    const { line, col } = this.lines.linePos(offset ?? 0);
    return { line, col };
  }

  node(node: unknown, schema: z.ZodType | undefined, path: KeyPath, depth = 0): Decoded {
    if (isAlias(node)) {
      // An unknown alias is already a problem: decode it as null so nothing else reports it.
      const resolved = this.alias(node, path);
      return resolved === undefined || depth > 100 ? NULL : this.node(resolved, schema, path, depth + 1);
    }
    const target = targetOf(schema);
    if (isScalar(node)) return this.scalar(node, target, path);
    if (isMap(node)) return this.map(node, target, path, depth);
    if (isSeq(node)) {
      const element = target.kind === 'array' ? target.element : undefined;
      return node.items.map((item, index) => {
        const itemPath = [...path, index];
        this.positions.set(itemPath, { key: undefined, value: this.position(rangeStart(item)), allowedKeys: undefined });
        const value = this.node(item, element, itemPath, depth);
        return value === NULL ? zeroValue(element) : value;
      });
    }
    return NULL;
  }

  private alias(node: { source: string; range?: unknown; resolve(doc: Document): unknown }, path: KeyPath): unknown {
    this.aliases += 1;
    if (this.aliases > MAX_ALIASES) {
      if (this.aliases === MAX_ALIASES + 1) this.problem(path, rangeStart(node), 'too many alias expansions (at most 10000)');
      return undefined;
    }
    const resolved = node.resolve(this.document);
    if (resolved !== undefined) return resolved;
    const glob = /[*/.?[]/.test(node.source) || node.source === '';
    this.problem(
      path,
      rangeStart(node),
      glob
        ? `"*${node.source}" is read as a YAML alias, and there is no anchor "&${node.source}" (quote values that start with *, e.g. "*${node.source}")`
        : `unknown alias "*${node.source}" (expected an anchor "&${node.source}" defined earlier in the file)`,
      glob ? 'Quote ignore patterns that start with *, for example - "**/*.log".' : undefined,
    );
    return undefined;
  }

  private scalar(node: Scalar, target: Target, path: KeyPath): Decoded {
    const text = scalarText(node.value);
    if (text === '' && node.tag !== undefined && !node.tag.startsWith('tag:yaml.org,2002:')) return this.emptyTag(node.tag, node, path);
    const plain = node.type === 'PLAIN' && node.tag !== STRING_TAG;
    if (plain && NULLS.has(text)) return NULL;
    if (plain && target.kind === 'boolean') {
      if (TRUES.has(text)) return true;
      if (FALSES.has(text)) return false;
    }
    if (plain && target.kind === 'number') return parseYamlNumber(text) ?? text;
    return text;
  }

  /**
   * `- !/build/keep` is a YAML tag with an empty value (yaml.v2 reads ""), nearly always an
   * unquoted negated ignore pattern. Reported once; the tag text stands in for the value so that
   * later checks do not report the same line again.
   */
  private emptyTag(tag: string, node: Scalar, path: KeyPath): string {
    const end = rangeStart(node) ?? 0;
    const at = this.source.lastIndexOf(tag, end);
    this.problem(
      path,
      at < 0 ? end : at,
      `"${tag}" is read as a YAML tag with an empty value (quote values that start with !, e.g. "${tag}")`,
      'Quote negated ignore patterns, for example - "!build/keep".',
    );
    return tag;
  }

  private map(node: YAMLMap, target: Target, path: KeyPath, depth: number, mergeSource = false): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      if (isPair(pair) && isMergeKey(pair.key, target)) this.merge(out, pair.value, target, path, depth);
    }
    const firstLine = new Map<string, number>();
    for (const pair of node.items) {
      const keyNode = isPair(pair) ? pair.key : undefined;
      if (isMergeKey(keyNode, target)) continue;
      const keyOffset = rangeStart(keyNode) ?? rangeStart(pair.value) ?? rangeStart(node);
      if (!isScalar(keyNode)) {
        this.problem(path, keyOffset, 'complex mapping keys are not supported (expected a plain key)');
        continue;
      }
      const key = scalarText(keyNode.value);
      const keyPath = [...path, key];
      const line = firstLine.get(key);
      if (line !== undefined) {
        this.problem(keyPath, keyOffset, `duplicate key (already set on line ${line})`);
        continue;
      }
      firstLine.set(key, this.position(keyOffset).line);
      this.entry(out, key, pair.value, target, keyPath, this.position(keyOffset), depth);
    }
    if (!mergeSource && target.kind === 'object') this.positions.allow(path, Object.keys(target.shape));
    return out;
  }

  private entry(out: Record<string, unknown>, key: string, valueNode: unknown, target: Target, keyPath: KeyPath, at: Position, depth: number): void {
    const child = target.kind === 'object' ? target.shape[key] : target.kind === 'record' ? target.value : undefined;
    const valueAt = rangeStart(valueNode);
    this.positions.set(keyPath, { key: at, value: valueAt === undefined ? at : this.position(valueAt), allowedKeys: undefined });
    const value = this.node(valueNode, child, keyPath, depth);
    if (value === NULL && target.kind === 'object') {
      delete out[key];
      return;
    }
    const stored = value === NULL ? (target.kind === 'record' ? zeroValue(child) : null) : value;
    Object.defineProperty(out, key, { value: stored, enumerable: true, writable: true, configurable: true });
  }

  /**
   * `<<: *base` or `<<: [*a, *b]` (YAML 1.1 merge keys, which yaml.v2 honours): keys come from
   * the merged mappings, earlier ones first; explicit keys, decoded afterwards, override them.
   */
  private merge(out: Record<string, unknown>, merge: unknown, target: Target, path: KeyPath, depth: number): void {
    const sources = isSeq(merge) ? merge.items : [merge];
    for (const source of sources) {
      const resolved = isAlias(source) ? this.alias(source, path) : source;
      if (resolved === undefined) continue;
      if (!isMap(resolved) || depth > 100) {
        this.problem(path, rangeStart(source), 'a merge key (<<) needs a mapping or a list of mappings');
        continue;
      }
      const merged = this.map(resolved, target, path, depth + 1, true);
      for (const [key, value] of Object.entries(merged)) {
        if (!Object.hasOwn(out, key)) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      }
    }
  }

  problem(path: KeyPath, offset: number | undefined, message: string, hint?: string): void {
    this.problems.push({ path, position: this.position(offset), message, ...(hint === undefined ? {} : { hint }) });
  }
}

/** A scalar's text: under the failsafe schema every scalar value is a string (null when empty). */
function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  return typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' ? String(value) : '';
}

function isMergeKey(key: unknown, target: Target): boolean {
  return isScalar(key) && key.type === 'PLAIN' && key.value === '<<' && !(target.kind === 'object' && '<<' in target.shape);
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range: unknown = node.range;
  return Array.isArray(range) && typeof range[0] === 'number' ? range[0] : undefined;
}

function zeroValue(schema: z.ZodType | undefined): unknown {
  const target = targetOf(schema);
  if (target.kind === 'text') return '';
  if (target.kind === 'object' || target.kind === 'record') return {};
  if (target.kind === 'array') return [];
  return null;
}

function syntaxMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  const trimmed = first.replace(/ at line \d+, column \d+:?$/, '');
  return `invalid YAML: ${trimmed.charAt(0).toLowerCase()}${trimmed.slice(1)}`;
}

/** Parses `source` (only its first document) and decodes it against `schema`. */
export function decodeYaml(source: string, schema: z.ZodType): DecodedYaml {
  const lines = new LineCounter();
  const documents = parseAllDocuments(source, { lineCounter: lines, schema: 'failsafe', uniqueKeys: false, prettyErrors: false });
  const document = documents[0];
  if (document === undefined || document.contents === null) {
    const positions = new PositionIndex();
    const problems: Problem[] = [];
    for (const error of document?.errors ?? []) {
      const { line, col } = lines.linePos(error.pos[0]);
      problems.push({ path: [], position: { line, col }, message: syntaxMessage(error.message) });
    }
    return { value: undefined, problems, positions };
  }
  const decoder = new Decoder(document, lines, source);
  if (document.errors.length > 0) {
    for (const error of document.errors) decoder.problem([], error.pos[0], syntaxMessage(error.message));
    return { value: undefined, problems: decoder.problems, positions: decoder.positions };
  }
  decoder.positions.set([], { key: undefined, value: decoder.position(rangeStart(document.contents)), allowedKeys: undefined });
  const value = decoder.node(document.contents, schema, []);
  return { value: value === NULL ? undefined : value, problems: decoder.problems, positions: decoder.positions };
}
