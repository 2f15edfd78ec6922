import type { Transmission } from '../../src/sync/endpoint.js';

/**
 * The transfer-stream layout of src/sync/remote/transmission.ts as plain values, written out
 * independently of its direct encoder: what the generic msgpack codec encodes and the reader
 * decodes. data [0, bytes, expectedSize | null], blocks [1, start, count, expectedSize | null],
 * done [2, error | null]; a batch is [3, [transmission, ...]].
 */
export function transmissionValue(t: Transmission): unknown {
  if (t.kind === 'done') return [2, t.error ?? null];
  const expected = t.expectedSize ?? null;
  const op = t.operation;
  return op.kind === 'data' ? [0, op.data, expected] : [1, op.start, op.count, expected];
}

export function batchValue(items: readonly unknown[]): unknown {
  return [3, items];
}
