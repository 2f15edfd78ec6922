import type { Transmission } from '../endpoint.js';
import { MAX_DATA_OPERATION_SIZE, type Signature } from '../rsync/types.js';
import { MAX_PROBLEM_LENGTH, InvalidMessage } from './entry-codec.js';
import { isCount } from './snapshot-delta.js';

/**
 * Wire form of one Transmission on a transfer stream (one length-prefixed message each, or several
 * in a batch message, see transfer-batch.ts):
 *   data [0, bytes, expectedSize | null]   blocks [1, start, count, expectedSize | null]   done [2, error | null]
 *   batch [3, [transmission, ...]]
 */
const DATA = 0;
const BLOCKS = 1;
const DONE = 2;
const BATCH = 3;
/** Most transmissions one batch message may carry. */
export const MAX_BATCH_ITEMS = 4096;

/** One message carrying several transmissions, in order: [3, [transmission, ...]]. */
export function encodeBatch(items: readonly unknown[]): unknown {
  return [BATCH, items];
}

/**
 * The transmissions a transfer-stream message carries: the items of a batch (which are checked
 * one by one; a batch inside a batch is a transmission of unknown type), else the message itself.
 */
export function unbatch(value: unknown): readonly unknown[] {
  if (!Array.isArray(value) || value[0] !== BATCH) return [value];
  const fields: readonly unknown[] = value;
  const items = fields[1];
  if (fields.length !== 2 || !Array.isArray(items) || items.length === 0 || items.length > MAX_BATCH_ITEMS) {
    throw new InvalidMessage('malformed transmission batch');
  }
  const list: readonly unknown[] = items;
  return list;
}

export function encodeTransmission(t: Transmission): unknown {
  if (t.kind === 'done') return [DONE, t.error ?? null];
  const expected = t.expectedSize ?? null;
  const op = t.operation;
  return op.kind === 'data' ? [DATA, op.data, expected] : [BLOCKS, op.start, op.count, expected];
}

/**
 * Validates the transmissions of one transfer against the paths and base signatures it is for:
 * data sizes within (0, 64 KiB], block runs inside the path's base, one `done` per path and
 * nothing after the last. Throws InvalidMessage.
 */
export class TransmissionChecker {
  private index = 0;

  constructor(private readonly signatures: readonly Signature[]) {}

  get complete(): boolean {
    return this.index === this.signatures.length;
  }

  check(value: unknown): Transmission {
    const signature = this.signatures[this.index];
    if (signature === undefined) throw new InvalidMessage('transmission beyond the requested paths');
    if (!Array.isArray(value) || value.length === 0) throw new InvalidMessage('transmission is not a non-empty array');
    const fields: readonly unknown[] = value;
    switch (fields[0]) {
      case DONE:
        return this.done(fields);
      case DATA:
        return data(fields);
      case BLOCKS:
        return blocks(fields, signature);
      default:
        throw new InvalidMessage('transmission of unknown type');
    }
  }

  private done(fields: readonly unknown[]): Transmission {
    const error = fields[1];
    if (fields.length !== 2 || (error !== null && (typeof error !== 'string' || error.length > MAX_PROBLEM_LENGTH))) {
      throw new InvalidMessage('malformed done transmission');
    }
    this.index++;
    return error === null ? { kind: 'done' } : { kind: 'done', error };
  }
}

function expectedSize(value: unknown): { expectedSize?: number } {
  if (value === null) return {};
  if (!isCount(value)) throw new InvalidMessage('expected size is not a non-negative integer');
  return { expectedSize: value };
}

function data(fields: readonly unknown[]): Transmission {
  const bytes = fields[1];
  if (fields.length !== 3 || !(bytes instanceof Uint8Array)) throw new InvalidMessage('malformed data operation');
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_DATA_OPERATION_SIZE) throw new InvalidMessage(`data operation of ${bytes.byteLength} bytes`);
  return { kind: 'operation', operation: { kind: 'data', data: bytes }, ...expectedSize(fields[2]) };
}

function blocks(fields: readonly unknown[], signature: Signature): Transmission {
  const [, start, count] = fields;
  if (fields.length !== 4 || !isCount(start) || !isCount(count) || count < 1) throw new InvalidMessage('malformed block operation');
  if (start + count > signature.hashes.length) throw new InvalidMessage(`blocks ${start}+${count} outside a base of ${signature.hashes.length}`);
  return { kind: 'operation', operation: { kind: 'blocks', start, count }, ...expectedSize(fields[3]) };
}
