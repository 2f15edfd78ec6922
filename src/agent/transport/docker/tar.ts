import type { Readable } from 'node:stream';
import { Readable as ReadableStream } from 'node:stream';
import { MutagenError } from '../../../base/errors.js';

/**
 * The two tar operations the Docker transport needs, hand-written (dockerode's tar-fs/tar-stream
 * are transitive dependencies without types): one ustar file entry for `putArchive`, and reading
 * the first file out of a `getArchive` stream.
 */
const BLOCK = 512;

export interface TarFileEntry {
  /** A plain name without `/` (the archive is extracted into the target directory). */
  readonly name: string;
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime?: Date;
}

function writeOctal(block: Buffer, value: number, offset: number, length: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}

export function tarHeader(entry: TarFileEntry): Buffer {
  const name = Buffer.from(entry.name, 'utf8');
  if (name.length === 0 || name.length > 100 || entry.name.includes('/')) {
    throw new MutagenError('MUTAGEN_INTERNAL', `invalid tar entry name ${JSON.stringify(entry.name)}`);
  }
  const block = Buffer.alloc(BLOCK);
  name.copy(block, 0);
  writeOctal(block, entry.mode & 0o7777, 100, 8);
  writeOctal(block, entry.uid, 108, 8);
  writeOctal(block, entry.gid, 116, 8);
  writeOctal(block, entry.size, 124, 12);
  writeOctal(block, Math.floor((entry.mtime ?? new Date()).getTime() / 1000), 136, 12);
  block.write('        ', 148, 8, 'ascii');
  block.write('0', 156, 1, 'ascii');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  writeOctal(block, sum, 148, 7);
  block[155] = 0x20;
  return block;
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new MutagenError('MUTAGEN_INTERNAL', 'unexpected chunk type in a byte stream');
}

async function* singleFileChunks(content: Readable, entry: TarFileEntry): AsyncGenerator<Buffer> {
  yield tarHeader(entry);
  let written = 0;
  for await (const chunk of content) {
    const buffer = toBuffer(chunk);
    written += buffer.length;
    if (written > entry.size) throw new MutagenError('MUTAGEN_TRANSPORT', `copy source is longer than its declared ${entry.size} bytes`);
    yield buffer;
  }
  if (written !== entry.size) throw new MutagenError('MUTAGEN_TRANSPORT', `copy source ended after ${written} of ${entry.size} bytes`);
  const padding = (BLOCK - (entry.size % BLOCK)) % BLOCK;
  yield Buffer.alloc(padding + 2 * BLOCK);
}

/** A tar stream holding one regular file whose bytes come from `content` (exactly entry.size). */
export function singleFileTar(content: Readable, entry: TarFileEntry): Readable {
  return ReadableStream.from(singleFileChunks(content, entry), { objectMode: false });
}

export type TarMember = { readonly kind: 'file'; readonly content: Buffer } | { readonly kind: 'symlink'; readonly target: string };

function field(block: Buffer, offset: number, length: number): string {
  const raw = block.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString('utf8');
}

function parseOctal(block: Buffer, offset: number, length: number): number {
  const text = field(block, offset, length).trim();
  const value = text === '' ? 0 : parseInt(text, 8);
  if (!Number.isSafeInteger(value) || value < 0) throw new MutagenError('MUTAGEN_TRANSPORT', 'malformed tar header from the docker engine');
  return value;
}

/**
 * Reads the first member of a tar stream (a `getArchive` of one path): a regular file's content
 * (at most `maxBytes`, else an error) or a symlink's target. Skips pax/GNU extension headers.
 */
export async function readFirstMember(stream: AsyncIterable<unknown>, maxBytes: number): Promise<TarMember> {
  let buffer = Buffer.alloc(0);
  for await (const chunk of stream) {
    buffer = Buffer.concat([buffer, toBuffer(chunk)]);
    for (;;) {
      if (buffer.length < BLOCK) break;
      const header = buffer.subarray(0, BLOCK);
      if (header.every((byte) => byte === 0)) throw new MutagenError('MUTAGEN_TRANSPORT', 'empty archive from the docker engine');
      const size = parseOctal(header, 124, 12);
      const type = field(header, 156, 1);
      if (type === '2') return { kind: 'symlink', target: field(header, 157, 100) };
      if (size > maxBytes) throw new MutagenError('MUTAGEN_TRANSPORT', `archive member larger than ${maxBytes} bytes`);
      const total = BLOCK + Math.ceil(size / BLOCK) * BLOCK;
      if (buffer.length < BLOCK + size) break;
      if (type === '0' || type === '') return { kind: 'file', content: Buffer.from(buffer.subarray(BLOCK, BLOCK + size)) };
      if (buffer.length < total) break;
      buffer = buffer.subarray(total);
    }
  }
  throw new MutagenError('MUTAGEN_TRANSPORT', 'truncated archive from the docker engine');
}
