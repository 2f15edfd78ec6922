import { MutagenError } from '../../base/errors.js';
import type { Entry } from '../../model/entry.js';
import { sortedNames } from './entries.js';

type DirectoryLike = Extract<Entry, { contents: ReadonlyMap<string, Entry> }>;

/** A directory's msgpack bytes: its own bytes (header, names, leaves) around its subdirectories'. */
interface Packed {
  readonly size: number;
  readonly parts: readonly (Uint8Array | Packed)[];
}

const HEX = new TextEncoder().encode('0123456789abcdef');
const INITIAL_SCRATCH = 64 * 1024;

/**
 * Writes msgpack of `encodeEntry(entry)` (codec.ts: maps with string keys, `[name, entry]` pairs
 * sorted by name, hex digests) without building the plain-object form, and remembers each
 * directory's bytes by entry identity. Trees share unchanged subtrees between cycles, so packing
 * the next ancestor costs what changed (plus one copy of the output), not the whole tree.
 *
 * Deterministic: the same tree always gives the same bytes, whatever was packed before. Any
 * msgpack reader decodes them to the value encodeEntry returns. Single-threaded; keep one packer
 * per stream of related trees (the memo holds at most the bytes of the trees still referenced).
 */
export class EntryPacker {
  private readonly memo = new WeakMap<Entry, Packed>();
  private scratch = new Uint8Array(INITIAL_SCRATCH);
  private length = 0;
  private readonly encoder = new TextEncoder();

  /** msgpack of `encodeEntry(entry)` (nil for the absent tree). */
  pack(entry: Entry | undefined): Uint8Array {
    return this.packWithin([], entry);
  }

  /**
   * msgpack of a map whose last field is the tree: `{ ...fields, [key]: encodeEntry(entry) }`
   * (e.g. an archive `{ version: 1, content }`). Fields are strings or small non-negative integers.
   */
  packMap(fields: Readonly<Record<string, string | number>>, key: string, entry: Entry | undefined): Uint8Array {
    const names = Object.keys(fields);
    this.mapHeader(names.length + 1);
    for (const name of names) {
      this.string(name);
      const value = fields[name];
      if (typeof value === 'string') this.string(value);
      else if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 128) this.byte(value);
      else throw new MutagenError('MUTAGEN_INTERNAL', `unsupported packed field ${JSON.stringify(name)}`);
    }
    this.string(key);
    return this.packWithin([this.take()], entry);
  }

  private packWithin(prefix: Uint8Array[], entry: Entry | undefined): Uint8Array {
    let root: Uint8Array | Packed;
    if (entry === undefined) {
      this.byte(0xc0);
      root = this.take();
    } else if (entry.kind === 'directory' || entry.kind === 'phantom-directory') {
      root = this.directory(entry);
    } else {
      this.leaf(entry);
      root = this.take();
    }
    const parts = [...prefix, root];
    const output = new Uint8Array(parts.reduce((total, part) => total + sizeOf(part), 0));
    let offset = 0;
    for (const part of parts) offset = copyInto(output, offset, part);
    return output;
  }

  /** Packs a directory (memoised). The scratch buffer is empty on entry and on return. */
  private directory(entry: DirectoryLike): Packed {
    const known = this.memo.get(entry);
    if (known !== undefined) return known;
    const parts: (Uint8Array | Packed)[] = [];
    this.mapHeader(2);
    this.string('kind');
    this.string(entry.kind);
    this.string('contents');
    this.arrayHeader(entry.contents.size);
    for (const name of sortedNames(entry.contents)) {
      const child = entry.contents.get(name);
      if (child === undefined) throw new MutagenError('MUTAGEN_INTERNAL', `missing child ${JSON.stringify(name)}`);
      this.byte(0x92);
      this.string(name);
      if (child.kind === 'directory' || child.kind === 'phantom-directory') {
        parts.push(this.take());
        parts.push(this.directory(child));
      } else {
        this.leaf(child);
      }
    }
    parts.push(this.take());
    const packed: Packed = { size: parts.reduce((total, part) => total + sizeOf(part), 0), parts };
    this.memo.set(entry, packed);
    return packed;
  }

  private leaf(entry: Exclude<Entry, DirectoryLike>): void {
    switch (entry.kind) {
      case 'file':
        this.mapHeader(3);
        this.string('kind');
        this.string('file');
        this.string('digest');
        this.hex(entry.digest);
        this.string('executable');
        this.byte(entry.executable ? 0xc3 : 0xc2);
        return;
      case 'symlink':
        this.mapHeader(2);
        this.string('kind');
        this.string('symlink');
        this.string('target');
        this.string(entry.target);
        return;
      case 'untracked':
        this.mapHeader(1);
        this.string('kind');
        this.string('untracked');
        return;
      case 'problematic':
        this.mapHeader(2);
        this.string('kind');
        this.string('problematic');
        this.string('problem');
        this.string(entry.problem);
        return;
    }
  }

  /** Copies out and clears the scratch bytes. */
  private take(): Uint8Array {
    const bytes = this.scratch.slice(0, this.length);
    this.length = 0;
    return bytes;
  }

  private reserve(count: number): void {
    if (this.length + count <= this.scratch.length) return;
    const grown = new Uint8Array(Math.max(this.scratch.length * 2, this.length + count));
    grown.set(this.scratch.subarray(0, this.length));
    this.scratch = grown;
  }

  private byte(value: number): void {
    this.reserve(1);
    this.scratch[this.length++] = value;
  }

  private mapHeader(count: number): void {
    this.byte(0x80 | count);
  }

  private arrayHeader(count: number): void {
    if (count < 16) {
      this.byte(0x90 | count);
    } else if (count < 0x10000) {
      this.reserve(3);
      this.scratch[this.length++] = 0xdc;
      this.u16(count);
    } else {
      this.reserve(5);
      this.scratch[this.length++] = 0xdd;
      this.u32(count);
    }
  }

  /** A str with the shortest header for its UTF-8 length (written first, then the header placed). */
  private string(value: string): void {
    const start = this.length;
    this.reserve(value.length * 3 + 5);
    const { written } = this.encoder.encodeInto(value, this.scratch.subarray(start + 5));
    const header = written < 32 ? 1 : written < 0x100 ? 2 : written < 0x10000 ? 3 : 5;
    this.scratch.copyWithin(start + header, start + 5, start + 5 + written);
    if (header === 1) this.scratch[start] = 0xa0 | written;
    else if (header === 2) this.scratch.set([0xd9, written], start);
    else if (header === 3) this.scratch.set([0xda, written >> 8, written & 0xff], start);
    else this.scratch.set([0xdb, (written >>> 24) & 0xff, (written >> 16) & 0xff, (written >> 8) & 0xff, written & 0xff], start);
    this.length = start + header + written;
  }

  /** A digest as lowercase hex text (what encodeDigest returns), written straight as ASCII. */
  private hex(digest: Uint8Array): void {
    const length = digest.byteLength * 2;
    if (length >= 0x100) {
      this.string(Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''));
      return;
    }
    this.reserve(length + 2);
    const out = this.scratch;
    let at = this.length;
    if (length < 32) out[at++] = 0xa0 | length;
    else {
      out[at++] = 0xd9;
      out[at++] = length;
    }
    for (const value of digest) {
      out[at++] = HEX[value >> 4] ?? 0;
      out[at++] = HEX[value & 15] ?? 0;
    }
    this.length = at;
  }

  private u16(value: number): void {
    this.scratch[this.length++] = value >> 8;
    this.scratch[this.length++] = value & 0xff;
  }

  private u32(value: number): void {
    this.scratch[this.length++] = (value >>> 24) & 0xff;
    this.scratch[this.length++] = (value >> 16) & 0xff;
    this.scratch[this.length++] = (value >> 8) & 0xff;
    this.scratch[this.length++] = value & 0xff;
  }
}

function sizeOf(part: Uint8Array | Packed): number {
  return part instanceof Uint8Array ? part.byteLength : part.size;
}

function copyInto(output: Uint8Array, offset: number, part: Uint8Array | Packed): number {
  if (part instanceof Uint8Array) {
    output.set(part, offset);
    return offset + part.byteLength;
  }
  let at = offset;
  for (const inner of part.parts) at = copyInto(output, at, inner);
  return at;
}
