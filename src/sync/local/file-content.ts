import { constants, fstatSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { errorMessage } from '../../base/errors.js';
import { createYielder } from '../../base/yielder.js';
import type { DeltaReceiver, StageRequest } from '../endpoint.js';
import { deltaOperations } from '../rsync/delta.js';
import { signatureOfFile } from '../rsync/signature.js';
import { EMPTY_SIGNATURE, MAX_DATA_OPERATION_SIZE, type Operation, type Signature } from '../rsync/types.js';
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

/** Streams one file: whole-file data operations for an empty signature, else an rsync delta. */
export async function supplyOne(fd: number, signature: Signature, receiver: DeltaReceiver, yieldTurn: () => Promise<void>, signal: AbortSignal): Promise<void> {
  const size = fstatSync(fd).size;
  let first = true;
  const send = async (operation: Operation): Promise<void> => {
    await receiver.write(first ? { kind: 'operation', operation, expectedSize: size } : { kind: 'operation', operation });
    first = false;
  };
  try {
    if (signature.hashes.length === 0) {
      for (let sent = 0; ; ) {
        signal.throwIfAborted();
        // Sized to what is left (small files are the common case); one more byte detects growth.
        const buffer = Buffer.allocUnsafe(Math.min(MAX_DATA_OPERATION_SIZE, Math.max(size - sent, 1)));
        const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        sent += bytesRead;
        await send({ kind: 'data', data: buffer.subarray(0, bytesRead) });
        await yieldTurn();
      }
    } else {
      for await (const operation of deltaOperations(readChunks(fd, signal), signature, signal)) await send(operation);
    }
  } catch (error) {
    if (signal.aborted) throw error;
    await receiver.write({ kind: 'done', error: `unable to read file: ${errorMessage(error)}` });
    return;
  }
  await receiver.write({ kind: 'done' });
}

async function* readChunks(fd: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
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
