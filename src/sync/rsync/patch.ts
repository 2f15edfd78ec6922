import type { FileHandle } from 'node:fs/promises';
import { assertNever, errorMessage, MutagenError } from '../../base/errors.js';
import type { Operation, Signature } from './types.js';
import { operationRange, validateSignature, type BaseRange } from './validate.js';

/** Largest single read from the base while copying a block run. */
const PATCH_READ_SIZE = 256 * 1024;

/**
 * Applies operations (sync-semantics §6.3): data is written through, block runs are read from
 * `base` at `start × blockSize` (the signature's last block copies `lastBlockSize` bytes) in
 * reads of at most 256 KiB. Each chunk passed to `sink` is a fresh buffer the sink may keep;
 * awaiting the sink is the back-pressure. The caller owns `base` (undefined when the signature
 * is empty). Operations may come from an untrusted peer: any invalid one, a read past the end
 * of the base, or an invalid signature rejects with MutagenError('MUTAGEN_STAGING'). Calls must
 * be sequential.
 */
export class Patcher {
  private readonly signatureError: MutagenError | undefined;
  private written = 0;

  constructor(
    private readonly base: FileHandle | undefined,
    private readonly signature: Signature,
    private readonly sink: (chunk: Uint8Array) => Promise<void>,
  ) {
    this.signatureError = checkSignature(signature);
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
    let position = range.offset;
    const end = range.offset + range.length;
    while (position < end) {
      signal?.throwIfAborted();
      const chunk = Buffer.allocUnsafe(Math.min(PATCH_READ_SIZE, end - position));
      let filled = 0;
      while (filled < chunk.length) {
        const { bytesRead } = await readBase(base, chunk, filled, position + filled);
        if (bytesRead === 0) throw new MutagenError('MUTAGEN_STAGING', 'base file is shorter than its signature');
        filled += bytesRead;
      }
      await this.write(chunk);
      position += filled;
    }
  }

  private async write(chunk: Uint8Array): Promise<void> {
    await this.sink(chunk);
    this.written += chunk.length;
  }
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
