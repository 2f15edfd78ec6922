import { MutagenError } from '../../base/errors.js';
import type { Entry } from '../../model/entry.js';
import { joinPath } from '../../model/entry.js';
import { invalidNameReason } from '../core/entries.js';

/**
 * Compact wire form of an Entry tree (msgpack friendly: arrays, strings, booleans, bytes):
 *   directory [0, [name, child, name, child, ...]]   phantom-directory [1, [...]]
 *   file [2, digest bytes, executable]   symlink [3, target]   untracked [4]   problematic [5, problem]
 * The absent tree is `null`. Decoding treats the input as untrusted (see EntryLimits).
 */
export type WireEntry = readonly unknown[];

/** Hard bounds for anything decoded from a peer; a process cannot hold more than this anyway. */
export const HARD_MAX_NODES = 10_000_000;
export const MAX_DEPTH = 2048;
export const MAX_NAME_LENGTH = 1024;
export const MAX_PATH_LENGTH = 65_536;
export const MAX_TARGET_LENGTH = 16_384;
export const MAX_PROBLEM_LENGTH = 16_384;

const DIRECTORY = 0;
const PHANTOM = 1;
const FILE = 2;
const SYMLINK = 3;
const UNTRACKED = 4;
const PROBLEMATIC = 5;

export function encodeWireEntry(entry: Entry | undefined): WireEntry | null {
  return entry === undefined ? null : encode(entry);
}

function encode(entry: Entry): WireEntry {
  switch (entry.kind) {
    case 'directory':
    case 'phantom-directory': {
      const contents: unknown[] = [];
      for (const [name, child] of entry.contents) contents.push(name, encode(child));
      return [entry.kind === 'directory' ? DIRECTORY : PHANTOM, contents];
    }
    case 'file':
      return [FILE, entry.digest, entry.executable];
    case 'symlink':
      return [SYMLINK, entry.target];
    case 'untracked':
      return [UNTRACKED];
    case 'problematic':
      return [PROBLEMATIC, entry.problem];
  }
}

/** Shared decoding budget: `nodes` counts down across every tree of one message. */
export class EntryLimits {
  nodes: number;

  constructor(readonly digestLength: number, maxNodes: number = HARD_MAX_NODES) {
    this.nodes = Math.min(maxNodes, HARD_MAX_NODES);
  }
}

/** Raised by validators; the caller prefixes `invalid <what> from <peer>`. */
export class InvalidMessage extends Error {}

/** Total number of nodes of a tree (every kind, the root included). */
export function countNodes(entry: Entry | undefined): number {
  if (entry === undefined) return 0;
  let count = 1;
  if (entry.kind === 'directory' || entry.kind === 'phantom-directory') {
    for (const child of entry.contents.values()) count += countNodes(child);
  }
  return count;
}

/** Decodes an untrusted tree; throws InvalidMessage naming the path and the problem. */
export function decodeWireEntry(value: unknown, limits: EntryLimits, path = ''): Entry | undefined {
  if (value === null || value === undefined) return undefined;
  return decode(value, limits, path, 0);
}

function decode(value: unknown, limits: EntryLimits, path: string, depth: number): Entry {
  if (!Array.isArray(value) || value.length === 0) throw invalid(path, 'entry is not a non-empty array');
  if (--limits.nodes < 0) throw invalid(path, 'too many entries');
  const fields: readonly unknown[] = value;
  const tag = fields[0];
  const arity = tag === UNTRACKED ? 1 : tag === FILE ? 3 : 2;
  if (fields.length !== arity) throw invalid(path, `entry of type ${String(tag)} has ${fields.length} fields`);
  switch (tag) {
    case DIRECTORY:
    case PHANTOM:
      if (depth >= MAX_DEPTH) throw invalid(path, 'tree too deep');
      return { kind: tag === DIRECTORY ? 'directory' : 'phantom-directory', contents: decodeContents(fields[1], limits, path, depth) };
    case FILE:
      return { kind: 'file', digest: decodeDigest(fields[1], limits.digestLength, path), executable: decodeBoolean(fields[2], path) };
    case SYMLINK:
      return { kind: 'symlink', target: boundedString(fields[1], MAX_TARGET_LENGTH, path, 'symbolic link target') };
    case UNTRACKED:
      return { kind: 'untracked' };
    case PROBLEMATIC:
      return { kind: 'problematic', problem: boundedString(fields[1], MAX_PROBLEM_LENGTH, path, 'problem') };
    default:
      throw invalid(path, `unknown entry type ${typeof tag === 'number' ? tag : typeof tag}`);
  }
}

function decodeContents(value: unknown, limits: EntryLimits, path: string, depth: number): ReadonlyMap<string, Entry> {
  if (!Array.isArray(value) || value.length % 2 !== 0) throw invalid(path, 'directory contents are not name/entry pairs');
  const pairs: readonly unknown[] = value;
  const contents = new Map<string, Entry>();
  for (let i = 0; i < pairs.length; i += 2) {
    const name = validName(pairs[i], path);
    if (contents.has(name)) throw invalid(path, `duplicate name ${JSON.stringify(name)}`);
    const child = pairs[i + 1];
    const childPath = joinPath(path, name);
    if (childPath.length > MAX_PATH_LENGTH) throw invalid(path, 'path too long');
    if (child === null || child === undefined) throw invalid(childPath, 'absent directory content');
    contents.set(name, decode(child, limits, childPath, depth + 1));
  }
  return contents;
}

/** A single path component: non-empty, no '/', no NUL, not '.' or '..', length-capped. */
export function validName(value: unknown, path: string): string {
  if (typeof value !== 'string') throw invalid(path, 'name is not a string');
  const reason = invalidNameReason(value) ?? (value.includes('\0') ? 'content name contains NUL' : undefined)
    ?? (value.length > MAX_NAME_LENGTH ? 'content name too long' : undefined);
  if (reason !== undefined) throw invalid(path, `${reason} ${JSON.stringify(value.slice(0, 64))}`);
  return value;
}

/** A root-relative path: `""` or valid names joined by '/'. */
export function validPath(value: unknown, what = 'path'): string {
  if (typeof value !== 'string') throw new InvalidMessage(`${what} is not a string`);
  if (value.length > MAX_PATH_LENGTH) throw new InvalidMessage(`${what} too long`);
  if (value === '') return value;
  for (const name of value.split('/')) validName(name, value);
  return value;
}

function decodeDigest(value: unknown, length: number, path: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalid(path, 'file digest is not bytes');
  if (value.byteLength !== length) throw invalid(path, `file digest has ${value.byteLength} bytes, expected ${length}`);
  // A copy: a view would pin the whole received message buffer.
  return new Uint8Array(value);
}

function decodeBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw invalid(path, 'executable flag is not a boolean');
  return value;
}

export function boundedString(value: unknown, max: number, path: string, what: string): string {
  if (typeof value !== 'string' || value === '') throw invalid(path, `${what} is not a non-empty string`);
  if (value.length > max) throw invalid(path, `${what} too long`);
  if (value.includes('\0')) throw invalid(path, `${what} contains NUL`);
  return value;
}

function invalid(path: string, problem: string): InvalidMessage {
  return new InvalidMessage(path === '' ? problem : `${problem} at ${JSON.stringify(path.slice(0, 256))}`);
}

/** Converts a validator failure into the protocol error the endpoint reports and closes on. */
export function protocolError(what: string, peer: 'agent' | 'daemon', error: unknown): MutagenError {
  if (error instanceof MutagenError) return error;
  const why = error instanceof Error ? error.message : String(error);
  return new MutagenError('MUTAGEN_PROTOCOL', `invalid ${what} from ${peer}: ${why}`, { cause: error });
}
