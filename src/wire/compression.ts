import type { Carrier } from './carrier.js';
import { BlockReader } from './compression-reader.js';
import { BlockWriter } from './compression-writer.js';

export type Compression = 'none' | 'deflate';

/**
 * Wraps a carrier in adaptive deflate (both directions; format in compression-block.ts). Writes
 * are coalesced per tick into blocks of at most 64 KiB; a block whose sampled byte
 * entropy says it is incompressible (random, already compressed) is sent stored, the others go
 * through one persistent raw-deflate stream (level 1) flushed with Z_SYNC_FLUSH per block, so a
 * lone small message is never stuck in the compressor. Inflate output is bounded by the
 * readable's back-pressure. Corrupt deflate data makes the readable fail with a zlib error (code
 * `Z_*`), a malformed block header with MUTAGEN_PROTOCOL. The returned carrier owns `carrier`:
 * ending or destroying its sides ends or destroys the underlying ones.
 */
export function compressCarrier(carrier: Carrier, compression: Compression): Carrier {
  if (compression === 'none') return carrier;
  return { readable: new BlockReader(carrier.readable), writable: new BlockWriter(carrier.writable) };
}
