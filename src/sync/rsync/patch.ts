import type { FileHandle } from 'node:fs/promises';
import { assertNever, errorMessage, MutagenError } from '../../base/errors.js';
import type { Operation, Signature } from './types.js';
import { operationRange, validateSignature, type BaseRange } from './validate.js';

/** Largest single read from the base while copying a block run. */
const PATCH_READ_SIZE = 1024 * 1024;

/**
 * Applies operations (sync-semantics §6.3): data is written through, block runs are read from
 * `base` at `start × blockSize` (the signature's last block copies `lastBlockSize` bytes) in
 * reads of at most 1 MiB, the next one running while the sink takes the current one. A chunk
 * passed to `sink` is valid only until the sink's promise resolves (two buffers take turns;
 * data operations are passed through as they are); awaiting the sink is the back-pressure. The
 * caller owns `base` (undefined when the signature is empty). Operations may come from an untrusted peer: any invalid one, a read past the end
 * of the base, or an invalid signature rejects with MutagenError('MUTAGEN_STAGING'). Calls must
 * be sequential.
 */
export class Patcher {
  private readonly signatureError: MutagenError | undefined;
  private written = 0;
  /** Read size: PATCH_READ_SIZE, or less for a small base. */
  private readonly readSize: number;
  private buffers: [Buffer, Buffer] | undefined;

  constructor(
    private readonly base: FileHandle | undefined,
    private readonly signature: Signature,
    private readonly sink: (chunk: Uint8Array) => Promise<void>,
  ) {
    this.signatureError = checkSignature(signature);
    const baseSize = this.signatureError === undefined && signature.hashes.length > 0
      ? (signature.hashes.length - 1) * signature.blockSize + signature.lastBlockSize
      : 0;
    this.readSize = Math.max(1, Math.min(PATCH_READ_SIZE, baseSize));
  }

  /** Bytes passed to the sink so far. */
  get bytesWritten(): number {
    return this.written;
  }

  async apply(operation: Operation, signal?: AbortSignal): Promise<void> {
    if (this.signatureError !== undefined) throw this.signatureError;
    const range = operationRange(operation, this.signature);
    switch (operation.kind) {
      case 'data':
        await this.write(operation.data);
        return;
      case 'blocks':
        if (range !== undefined) await this.copy(range, signal);
        return;
      default:
        assertNever(operation, 'operation');
    }
  }

  private async copy(range: BaseRange, signal: AbortSignal | undefined): Promise<void> {
    const base = this.base;
    if (base === undefined) throw new MutagenError('MUTAGEN_STAGING', 'block operation without a base file');
    const end = range.offset + range.length;
    let position = range.offset;
    // Two buffers take turns: the next read runs in the thread pool while the sink takes the
    // current chunk (the sink is done with a chunk once its promise resolved).
    this.buffers ??= [Buffer.allocUnsafe(this.readSize), Buffer.allocUnsafe(this.readSize)];
    const buffers = this.buffers;
    let turn = 0;
    let pending: Promise<Buffer> | undefined = readChunk(base, buffers[turn]!, position, Math.min(this.readSize, end - position));
    try {
      while (pending !== undefined) {
        signal?.throwIfAborted();
        const chunk: Buffer = await pending;
        pending = undefined;
        position += chunk.length;
        turn = 1 - turn;
        if (position < end) pending = readChunk(base, buffers[turn]!, position, Math.min(this.readSize, end - position));
        await this.write(chunk);
      }
    } finally {
      if (pending !== undefined) await pending.catch(() => undefined);
    }
  }

  private async write(chunk: Uint8Array): Promise<void> {
    await this.sink(chunk);
    this.written += chunk.length;
  }
}

/** `length` bytes of the base at `position`, read into `buffer`; marked handled (it may be awaited late). */
function readChunk(base: FileHandle, buffer: Buffer, position: number, length: number): Promise<Buffer> {
  const result = (async () => {
    const chunk = buffer.subarray(0, length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await readBase(base, chunk, filled, position + filled);
      if (bytesRead === 0) throw new MutagenError('MUTAGEN_STAGING', 'base file is shorter than its signature');
      filled += bytesRead;
    }
    return chunk;
  })();
  result.catch(() => undefined);
  return result;
}

async function readBase(base: FileHandle, chunk: Buffer, offset: number, position: number): Promise<{ bytesRead: number }> {
  try {
    return await base.read(chunk, offset, chunk.length - offset, position);
  } catch (error) {
    throw new MutagenError('MUTAGEN_STAGING', `unable to read base file: ${errorMessage(error)}`, { cause: error });
  }
}

function checkSignature(signature: Signature): MutagenError | undefined {
  try {
    validateSignature(signature);
    return undefined;
  } catch (error) {
    return new MutagenError('MUTAGEN_STAGING', errorMessage(error), { cause: error });
  }
}

/** In-memory patching (tests and small data). Same validation as {@link Patcher}. */
export function patchBytes(base: Uint8Array, signature: Signature, operations: Iterable<Operation>): Uint8Array {
  const error = checkSignature(signature);
  if (error !== undefined) throw error;
  const parts: Uint8Array[] = [];
  for (const operation of operations) {
    const range = operationRange(operation, signature);
    if (range === undefined) {
      if (operation.kind === 'data') parts.push(operation.data);
      continue;
    }
    if (range.offset + range.length > base.length) {
      throw new MutagenError('MUTAGEN_STAGING', 'base is shorter than its signature');
    }
    parts.push(base.subarray(range.offset, range.offset + range.length));
  }
  return Buffer.concat(parts);
}
