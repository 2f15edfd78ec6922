import { constants, fstatSync, readSync, type BigIntStats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { errorMessage } from '../../base/errors.js';
import { createYielder } from '../../base/yielder.js';
import type { DeltaReceiver, StageRequest } from '../endpoint.js';
import { deltaOperations } from '../rsync/delta.js';
import { signatureOfFile } from '../rsync/signature.js';
import { EMPTY_SIGNATURE, MAX_DATA_OPERATION_SIZE, type Operation, type Signature } from '../rsync/types.js';
import { readAhead } from './positional-reads.js';
import type { CacheEntry } from './scan-cache.js';
import type { StagingStore } from './staging.js';

/** Reading a root's files for the other side: rsync signatures of bases, whole files or deltas. */

const READ_CHUNK = 256 * 1024;

/** Stages `file` from a local file with the same digest; false when it cannot (or the digest differs). */
export async function stageLocalCopy(staging: StagingStore, source: string, file: StageRequest, signal: AbortSignal): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(source, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return false;
  }
  const sink = await staging.createSink(file.path);
  try {
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      signal.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      await sink.write(buffer.subarray(0, bytesRead));
    }
    const digest = await sink.commit();
    return Buffer.compare(Buffer.from(digest), Buffer.from(file.digest)) === 0;
  } catch (error) {
    await sink.abort().catch(() => undefined);
    if (signal.aborted) throw error;
    return false;
  } finally {
    await handle.close();
  }
}

/** Files at least this large get their signature remembered when they are received. */
export const REMEMBERED_SIGNATURE_MINIMUM = 8 * 1024 * 1024;
/** At most this many block hashes (about 130 bytes each, 8 MiB in all) are remembered per endpoint. */
export const REMEMBERED_BLOCKS_LIMIT = 64 * 1024;

/** What a remembered signature was computed for: the file as placed (inode, size, mtime) and its digest. */
interface RememberedSignature {
  readonly ino: number;
  readonly size: number;
  readonly mtimeNs: bigint;
  readonly digest: Uint8Array;
  readonly signature: Signature;
}

/**
 * Signatures of large files this endpoint received (whole or by a delta), computed while they
 * were written (rsync/signature-builder.ts), keyed by path. One is used as the base signature of the next
 * transfer to that path only while the last scan saw the very file it was computed for (same
 * inode, size, nanosecond mtime and digest, the §2.5 identity); a base that changed anyway
 * gives a patched file with another digest, which staging rejects (§6.5) as it would for a
 * base that changed after its signature was read. Bounded by REMEMBERED_BLOCKS_LIMIT.
 */
export class SignatureMemory {
  private readonly entries = new Map<string, RememberedSignature>();
  private blocks = 0;

  /** The remembered signature of `relative` if the scan's entry for it is the file it was computed for. */
  lookup(relative: string, scanned: CacheEntry | undefined): Signature | undefined {
    const entry = this.entries.get(relative);
    if (entry === undefined || scanned === undefined) return undefined;
    const same = entry.ino === scanned.ino && entry.size === scanned.size && entry.mtimeNs === scanned.mtimeNs
      && Buffer.compare(Buffer.from(entry.digest), Buffer.from(scanned.digest)) === 0;
    return same ? entry.signature : undefined;
  }

  remember(relative: string, stat: Pick<BigIntStats, 'ino' | 'size' | 'mtimeNs'>, digest: Uint8Array, signature: Signature): void {
    this.forget(relative);
    if (signature.hashes.length > REMEMBERED_BLOCKS_LIMIT) return;
    this.entries.set(relative, { ino: Number(stat.ino), size: Number(stat.size), mtimeNs: stat.mtimeNs, digest, signature });
    this.blocks += signature.hashes.length;
    // Oldest first (insertion order) until the total fits.
    for (const [key, entry] of this.entries) {
      if (this.blocks <= REMEMBERED_BLOCKS_LIMIT) break;
      this.entries.delete(key);
      this.blocks -= entry.signature.hashes.length;
    }
  }

  forget(relative: string): void {
    const entry = this.entries.get(relative);
    if (entry === undefined) return;
    this.entries.delete(relative);
    this.blocks -= entry.signature.hashes.length;
  }
}

/** The rsync signature of the file at `absolute`; empty when it is not a readable file. */
export async function signatureAt(absolute: string, signal: AbortSignal): Promise<Signature> {
  let handle: FileHandle;
  try {
    handle = await open(absolute, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return EMPTY_SIGNATURE;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return EMPTY_SIGNATURE;
    return await signatureOfFile(handle, stat.size, signal);
  } catch (error) {
    if (signal.aborted) throw error;
    return EMPTY_SIGNATURE;
  } finally {
    await handle.close();
  }
}

/** Files at least this large are read ahead in the thread pool while the previous chunk is processed. */
const READ_AHEAD_MINIMUM = 1024 * 1024;
/** Size of one read-ahead read, cut into data operations of 64 KiB. */
const READ_AHEAD_SIZE = 1024 * 1024;

/**
 * Streams one file: whole-file data operations for an empty signature, else an rsync delta.
 * `scannedSize` (what the last scan found) spares small whole files their fstat: a stale one
 * only changes how the file is read (reads go on to its end) and the expected size announced,
 * and a file that changed since the scan fails the receiver's digest check either way.
 */
export async function supplyOne(fd: number, signature: Signature, receiver: DeltaReceiver, yieldTurn: () => Promise<void>, signal: AbortSignal, scannedSize?: number): Promise<void> {
  const size = scannedSize !== undefined && scannedSize < READ_AHEAD_MINIMUM && signature.hashes.length === 0 ? scannedSize : fstatSync(fd).size;
  let first = true;
  const send = async (operation: Operation): Promise<void> => {
    await receiver.write(first ? { kind: 'operation', operation, expectedSize: size } : { kind: 'operation', operation });
    first = false;
  };
  try {
    if (signature.hashes.length > 0) {
      for await (const operation of deltaOperations(readChunks(fd, size, signal), signature, signal)) await send(operation);
    } else if (size >= READ_AHEAD_MINIMUM) {
      // Whole large file: the next read runs while the receiver hashes and writes this chunk.
      // Receivers are done with a data operation when write() resolves (they copy or encode
      // it), except that a remote one may batch a small one: those get their own copy.
      for await (const chunk of readAhead(fd, READ_AHEAD_SIZE, { signal })) {
        for (let offset = 0; offset < chunk.length; offset += MAX_DATA_OPERATION_SIZE) {
          const piece = chunk.subarray(offset, Math.min(chunk.length, offset + MAX_DATA_OPERATION_SIZE));
          await send({ kind: 'data', data: piece.length === MAX_DATA_OPERATION_SIZE ? piece : Buffer.from(piece) });
        }
      }
    } else {
      for (let sent = 0; ; ) {
        signal.throwIfAborted();
        // Sized to what is left plus one byte (small files are the common case): a read that
        // comes back short once the scanned size is reached is the end of the file, so a small
        // file costs one read, not a second one that finds nothing. A file that grew is read on
        // in whole operations.
        const left = size - sent;
        const wanted = left >= 0 ? Math.min(MAX_DATA_OPERATION_SIZE, left + 1) : MAX_DATA_OPERATION_SIZE;
        const buffer = Buffer.allocUnsafe(wanted);
        const bytesRead = readSync(fd, buffer, 0, wanted, null);
        if (bytesRead === 0) break;
        sent += bytesRead;
        await send({ kind: 'data', data: buffer.subarray(0, bytesRead) });
        if (bytesRead < wanted && sent >= size) break;
        await yieldTurn();
      }
    }
  } catch (error) {
    if (signal.aborted) throw error;
    await receiver.write({ kind: 'done', error: `unable to read file: ${errorMessage(error)}` });
    return;
  }
  await receiver.write({ kind: 'done' });
}

/** Input of the delta engine: read ahead in the thread pool for large files, else synchronous reads. */
function readChunks(fd: number, size: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  return size >= READ_AHEAD_MINIMUM ? readAhead(fd, READ_AHEAD_SIZE, { signal }) : readSynchronously(fd, signal);
}

async function* readSynchronously(fd: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const yieldTurn = createYielder();
  for (;;) {
    signal.throwIfAborted();
    await yieldTurn();
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
    if (bytesRead === 0) return;
    yield buffer.subarray(0, bytesRead);
  }
}
