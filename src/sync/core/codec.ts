import { MutagenError } from '../../base/errors.js';
import type { Entry } from '../../model/entry.js';
import { joinPath } from '../../model/entry.js';
import { invalidNameReason, sortedNames } from './entries.js';

/**
 * Deterministic serialisable form of an Entry for the archive and for snapshots on the wire:
 * plain objects, arrays, strings and booleans only (JSON and msgpack friendly). Directory
 * contents are `[name, entry]` pairs sorted by name (code-unit order); digests are lowercase hex.
 * The absent tree encodes as `null`.
 */
export type EncodedEntry =
  | { readonly kind: 'directory' | 'phantom-directory'; readonly contents: readonly (readonly [string, EncodedEntry])[] }
  | { readonly kind: 'file'; readonly digest: string; readonly executable: boolean }
  | { readonly kind: 'symlink'; readonly target: string }
  | { readonly kind: 'untracked' }
  | { readonly kind: 'problematic'; readonly problem: string };

const HEX = '0123456789abcdef';

export function encodeDigest(digest: Uint8Array): string {
  let text = '';
  for (const byte of digest) text += (HEX[byte >> 4] ?? '') + (HEX[byte & 15] ?? '');
  return text;
}

/** Encodes a tree; `undefined` (absent) becomes `null`. */
export function encodeEntry(e: Entry | undefined): EncodedEntry | null {
  return e === undefined ? null : encode(e);
}

function encode(e: Entry): EncodedEntry {
  switch (e.kind) {
    case 'directory':
    case 'phantom-directory':
      return {
        kind: e.kind,
        contents: sortedNames(e.contents).map((name) => {
          const child = e.contents.get(name);
          if (child === undefined) throw new MutagenError('MUTAGEN_INTERNAL', `missing child ${JSON.stringify(name)}`);
          return [name, encode(child)] as const;
        }),
      };
    case 'file':
      return { kind: 'file', digest: encodeDigest(e.digest), executable: e.executable };
    case 'symlink':
      return { kind: 'symlink', target: e.target };
    case 'untracked':
      return { kind: 'untracked' };
    case 'problematic':
      return { kind: 'problematic', problem: e.problem };
  }
}

/**
 * Decodes and fully validates an encoded tree (sync-semantics §1.1): known kinds, exactly the
 * fields each kind allows, non-empty digests/targets/problems, valid and unique child names.
 * `null` or `undefined` decode to the absent tree. Digests may also arrive as raw bytes (a
 * msgpack bin). Throws MutagenError('MUTAGEN_ARCHIVE') on anything malformed.
 */
export function decodeEntry(value: unknown): Entry | undefined {
  if (value === null || value === undefined) return undefined;
  try {
    return decode(value, '');
  } catch (error) {
    if (error instanceof MutagenError) throw error;
    // e.g. a RangeError from absurd nesting depth
    throw new MutagenError('MUTAGEN_ARCHIVE', `malformed entry: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function malformed(path: string, problem: string): MutagenError {
  return new MutagenError('MUTAGEN_ARCHIVE', `malformed entry at ${JSON.stringify(path)}: ${problem}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

const FIELDS: Record<Entry['kind'], readonly string[]> = {
  directory: ['kind', 'contents'],
  'phantom-directory': ['kind', 'contents'],
  file: ['kind', 'digest', 'executable'],
  symlink: ['kind', 'target'],
  untracked: ['kind'],
  problematic: ['kind', 'problem'],
};

function isKind(value: unknown): value is Entry['kind'] {
  return typeof value === 'string' && Object.hasOwn(FIELDS, value);
}

function decode(value: unknown, path: string): Entry {
  if (!isRecord(value)) throw malformed(path, 'not an object');
  const kind = value['kind'];
  if (!isKind(kind)) throw malformed(path, `unknown kind ${typeof kind === 'string' ? JSON.stringify(kind) : typeof kind}`);
  const allowed = FIELDS[kind];
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw malformed(path, `unexpected field ${JSON.stringify(key)} for ${kind}`);
  }
  switch (kind) {
    case 'directory':
    case 'phantom-directory':
      return { kind, contents: decodeContents(value['contents'], path) };
    case 'file':
      return decodeFile(value, path);
    case 'symlink':
      return { kind, target: nonEmptyString(value['target'], path, 'symbolic link target') };
    case 'untracked':
      return { kind };
    case 'problematic':
      return { kind, problem: nonEmptyString(value['problem'], path, 'problem') };
  }
}

function nonEmptyString(value: unknown, path: string, what: string): string {
  if (typeof value !== 'string' || value === '') throw malformed(path, `${what} must be a non-empty string`);
  return value;
}

function decodeFile(value: Record<string, unknown>, path: string): Entry {
  const executable = value['executable'];
  if (typeof executable !== 'boolean') throw malformed(path, 'file executable must be a boolean');
  return { kind: 'file', digest: decodeDigest(value['digest'], path), executable };
}

function decodeDigest(value: unknown, path: string): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.byteLength === 0) throw malformed(path, 'file digest is empty');
    return new Uint8Array(value);
  }
  if (typeof value !== 'string' || value === '' || value.length % 2 !== 0 || !/^[0-9a-f]+$/.test(value)) {
    throw malformed(path, 'file digest must be non-empty lowercase hex');
  }
  const digest = new Uint8Array(value.length / 2);
  for (let i = 0; i < digest.length; i++) digest[i] = Number.parseInt(value.slice(2 * i, 2 * i + 2), 16);
  return digest;
}

function decodeContents(value: unknown, path: string): ReadonlyMap<string, Entry> {
  if (!Array.isArray(value)) throw malformed(path, 'directory contents must be an array');
  const contents = new Map<string, Entry>();
  for (const pair of value as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2) throw malformed(path, 'directory content must be a [name, entry] pair');
    const [name, child] = pair as unknown[];
    if (typeof name !== 'string') throw malformed(path, 'content name must be a string');
    const reason = invalidNameReason(name);
    if (reason !== undefined) throw malformed(path, `${reason} ${JSON.stringify(name)}`);
    if (contents.has(name)) throw malformed(path, `duplicate content name ${JSON.stringify(name)}`);
    if (child === null || child === undefined) throw malformed(joinPath(path, name), 'nil content');
    contents.set(name, decode(child, joinPath(path, name)));
  }
  return contents;
}
