import type { BigIntStats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Packr } from 'msgpackr';
import { errorMessage, MutagenError } from '../../base/errors.js';
import type { Logger } from '../../base/logger.js';

/**
 * What the last scan saw for one regular file (sync-semantics §2.5): the full st_mode, the
 * modification time in nanoseconds, size, inode number (0 where there is none) and the content
 * digest computed for exactly that stat. Entries are immutable and shared between caches.
 */
export interface CacheEntry {
  readonly mode: number;
  readonly mtimeNs: bigint;
  readonly size: number;
  readonly ino: number;
  readonly digest: Uint8Array;
}

/** Root-relative path (the root file itself is `""`) → cache entry. */
export type ScanCache = ReadonlyMap<string, CacheEntry>;

/** S_IFMT: the file type bits of st_mode. */
const TYPE_MASK = 0o170000;
const FORMAT_VERSION = 1;
const FIELDS = 6;

const packr = new Packr({ useRecords: false, int64AsType: 'bigint', copyBuffers: true });

export function cacheEntryFromStat(stat: Pick<BigIntStats, 'ino' | 'size' | 'mtimeNs' | 'mode'>, digest: Uint8Array): CacheEntry {
  return { mode: Number(stat.mode), mtimeNs: stat.mtimeNs, size: Number(stat.size), ino: Number(stat.ino), digest };
}

/**
 * The §2.5 digest-reuse decision: same file type, same nanosecond mtime, same size, same inode.
 * Permission bits are deliberately not compared (a chmod does not force a re-hash).
 */
export function cacheMatchesStat(entry: CacheEntry, stat: BigIntStats): boolean {
  return (entry.mode & TYPE_MASK) === (Number(stat.mode) & TYPE_MASK)
    && entry.mtimeNs === stat.mtimeNs
    && entry.size === Number(stat.size)
    && entry.ino === Number(stat.ino);
}

/** The §5.3 verification: the whole mode (type and every permission bit) plus mtime, size, inode. */
export function cacheMatchesExactly(entry: CacheEntry, stat: BigIntStats): boolean {
  return entry.mode === Number(stat.mode)
    && entry.mtimeNs === stat.mtimeNs
    && entry.size === Number(stat.size)
    && entry.ino === Number(stat.ino);
}

/**
 * Serialises a cache as msgpack: `[version, [path, mode, mtimeNs, size, ino, digest, path, …]]`.
 * Flat arrays keep 100k-entry caches compact and fast to decode. Map order is kept.
 */
export function encodeScanCache(cache: ScanCache): Uint8Array {
  const flat: unknown[] = new Array<unknown>(cache.size * FIELDS);
  let i = 0;
  for (const [path, entry] of cache) {
    flat[i++] = path;
    flat[i++] = entry.mode;
    flat[i++] = entry.mtimeNs;
    flat[i++] = entry.size;
    flat[i++] = entry.ino;
    flat[i++] = entry.digest;
  }
  return packr.pack([FORMAT_VERSION, flat]);
}

function corrupt(detail: string, cause?: unknown): MutagenError {
  return new MutagenError('MUTAGEN_CORRUPT_RECORD', `invalid scan cache: ${detail}`, cause === undefined ? {} : { cause });
}

function asNumber(value: unknown, what: string): number {
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw corrupt(`bad ${what}`);
  return n;
}

function asBigInt(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  throw corrupt('bad modification time');
}

/**
 * Parses bytes written by encodeScanCache. Throws MutagenError('MUTAGEN_CORRUPT_RECORD') on
 * anything else; callers replace an unreadable cache with an empty one.
 */
export function decodeScanCache(bytes: Uint8Array): Map<string, CacheEntry> {
  let decoded: unknown;
  try {
    decoded = packr.unpack(bytes);
  } catch (error) {
    throw corrupt('undecodable data', error);
  }
  if (!Array.isArray(decoded) || decoded.length !== 2 || decoded[0] !== FORMAT_VERSION) throw corrupt('unknown format');
  const flat: unknown = decoded[1];
  if (!Array.isArray(flat) || flat.length % FIELDS !== 0) throw corrupt('bad entry list');
  const cache = new Map<string, CacheEntry>();
  for (let i = 0; i < flat.length; i += FIELDS) {
    const path: unknown = flat[i];
    const digest: unknown = flat[i + 5];
    if (typeof path !== 'string') throw corrupt('bad path');
    if (!(digest instanceof Uint8Array) || digest.byteLength === 0) throw corrupt('bad digest');
    cache.set(path, {
      mode: asNumber(flat[i + 1], 'mode'),
      mtimeNs: asBigInt(flat[i + 2]),
      size: asNumber(flat[i + 3], 'size'),
      ino: asNumber(flat[i + 4], 'file id'),
      digest,
    });
  }
  return cache;
}

/** The scan cache saved in `file`, or an empty one when there is none or it cannot be read. */
export async function loadScanCache(file: string | undefined, logger: Logger): Promise<Map<string, CacheEntry>> {
  if (file === undefined) return new Map();
  try {
    return decodeScanCache(await readFile(file));
  } catch (error) {
    logger.debug('starting with an empty scan cache', { reason: errorMessage(error) });
    return new Map();
  }
}
