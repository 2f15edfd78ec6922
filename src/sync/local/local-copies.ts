import { digestHex } from '../../model/entry.js';
import type { StageRequest } from '../endpoint.js';
import type { ScanCache } from './scan-cache.js';

/**
 * Local files whose content is wanted (renames and copies are staged from disk, §6.2 step 2):
 * requested digest (hex) → a path holding it. One pass over the cache comparing raw digest
 * bytes; hex strings are made only for the requested digests and the matches.
 */
export function localCopies(cache: ScanCache, files: readonly StageRequest[]): Map<string, string> {
  const wanted = new Map<number, Uint8Array[]>();
  for (const file of files) {
    if (file.digest.byteLength < 4) continue;
    const key = Buffer.from(file.digest.buffer, file.digest.byteOffset, 4).readUInt32BE(0);
    const list = wanted.get(key);
    if (list === undefined) wanted.set(key, [file.digest]);
    else list.push(file.digest);
  }
  const found = new Map<string, string>();
  for (const [relative, entry] of cache) {
    const digest = entry.digest;
    if (digest.byteLength < 4) continue;
    const candidates = wanted.get(Buffer.from(digest.buffer, digest.byteOffset, 4).readUInt32BE(0));
    if (candidates === undefined) continue;
    for (const candidate of candidates) {
      if (Buffer.compare(candidate, digest) === 0) found.set(digestHex(digest), relative);
    }
  }
  return found;
}
