import { deltaOperations } from '../../../src/sync/rsync/delta.js';
import type { Operation, Signature } from '../../../src/sync/rsync/types.js';

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export function seededBytes(seed: number, length: number): Buffer {
  const words = new Uint32Array(Math.ceil(length / 4));
  let state = seed >>> 0 || 0x2545f491;
  for (let i = 0; i < words.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    words[i] = state >>> 0;
  }
  return Buffer.from(words.buffer, 0, length);
}

/** Yields `bytes` in chunks of `size` (copies, as a file stream would). */
export async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  await Promise.resolve();
  for (let offset = 0; offset < bytes.length; offset += size) {
    yield Buffer.from(bytes.subarray(offset, Math.min(bytes.length, offset + size)));
  }
}

export async function collect(target: Uint8Array, signature: Signature, chunkSize = 65_536): Promise<Operation[]> {
  const operations: Operation[] = [];
  for await (const operation of deltaOperations(chunksOf(target, chunkSize), signature)) operations.push(operation);
  return operations;
}

export function dataBytes(operations: readonly Operation[]): number {
  return operations.reduce((sum, op) => sum + (op.kind === 'data' ? op.data.length : 0), 0);
}

/** A compact view of an operation list for equality assertions. */
export function shape(operations: readonly Operation[]): string[] {
  return operations.map((op) => (op.kind === 'data' ? `data:${op.data.length}` : `blocks:${op.start}+${op.count}`));
}

export function concat(...parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts);
}
