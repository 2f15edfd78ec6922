import type { DeltaReceiver, Transmission } from '../endpoint.js';
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

/**
 * Hands the transmissions of one message to `receiver`, in order, each checked by `check`; a
 * file whose content is one data operation followed by its `done` goes to writeWhole() in one
 * call when the receiver has it.
 */
export async function deliverTransmissions(items: readonly unknown[], check: (item: unknown) => Transmission, receiver: DeltaReceiver): Promise<void> {
  for (let index = 0; index < items.length; index++) {
    const transmission = check(items[index]);
    if (receiver.writeWhole === undefined || transmission.kind !== 'operation' || transmission.operation.kind !== 'data' || index + 1 === items.length) {
      await receiver.write(transmission);
      continue;
    }
    const next = check(items[++index]);
    if (next.kind === 'done' && next.error === undefined) {
      await receiver.writeWhole(transmission.operation.data, transmission.expectedSize);
    } else {
      await receiver.write(transmission);
      await receiver.write(next);
    }
  }
}

/**
 * The whole message (u32 big-endian body length, then the msgpack body) of one transmission, or
 * of a batch of several, in the layout above, written directly: what the generic codec would
 * make of those values (the tests check it against test/helpers/transmission-values.ts), decoded
 * by the same reader, but with one exact allocation and nothing else per message. (msgpackr's
 * generic packing of these, a mix of arrays, byte arrays, numbers and nulls, took ~200 ms of the
 * daemon's CPU per 20k-file initial sync.)
 */
export function encodeTransmissionMessage(items: readonly Transmission[]): Buffer {
  if (items.length === 0 || items.length > MAX_BATCH_ITEMS) throw new RangeError(`a message of ${items.length} transmissions`);
  const batch = items.length > 1;
  let size = batch ? 2 + arrayHeaderSize(items.length) : 0;
  for (const item of items) size += itemSize(item);
  const out = Buffer.allocUnsafe(4 + size);
  out.writeUInt32BE(size, 0);
  let at = 4;
  if (batch) {
    out[4] = 0x92; // [BATCH, [items...]]
    out[5] = BATCH;
    at = writeArrayHeader(out, 6, items.length);
  }
  for (const item of items) at = writeItem(out, at, item);
  if (at !== out.length) throw new RangeError('batch encoding size mismatch');
  return out;
}

function itemSize(t: Transmission): number {
  if (t.kind === 'done') return 2 + (t.error === undefined ? 1 : lengthPrefixedSize(STRING, Buffer.byteLength(t.error)));
  const op = t.operation;
  const expected = t.expectedSize === undefined ? 1 : countSize(t.expectedSize);
  if (op.kind === 'data') return 2 + lengthPrefixedSize(BINARY, op.data.byteLength) + expected;
  return 2 + countSize(op.start) + countSize(op.count) + expected;
}

function writeItem(out: Buffer, at: number, t: Transmission): number {
  if (t.kind === 'done') {
    out[at] = 0x92;
    out[at + 1] = DONE;
    if (t.error === undefined) {
      out[at + 2] = 0xc0;
      return at + 3;
    }
    const length = Buffer.byteLength(t.error);
    const start = writeLengthHeader(out, at + 2, STRING, length);
    out.write(t.error, start, length, 'utf8');
    return start + length;
  }
  const op = t.operation;
  let next: number;
  if (op.kind === 'data') {
    out[at] = 0x93;
    out[at + 1] = DATA;
    next = writeLengthHeader(out, at + 2, BINARY, op.data.byteLength);
    out.set(op.data, next);
    next += op.data.byteLength;
  } else {
    out[at] = 0x94;
    out[at + 1] = BLOCKS;
    next = writeCount(out, writeCount(out, at + 2, op.start), op.count);
  }
  if (t.expectedSize !== undefined) return writeCount(out, next, t.expectedSize);
  out[next] = 0xc0;
  return next + 1;
}

function arrayHeaderSize(length: number): number {
  return length < 16 ? 1 : 3;
}

function writeArrayHeader(out: Buffer, at: number, length: number): number {
  if (length < 16) {
    out[at] = 0x90 | length;
    return at + 1;
  }
  out[at] = 0xdc;
  out.writeUInt16BE(length, at + 1);
  return at + 3;
}

/** Non-negative integers: fixint, uint8/16/32, beyond that float64 (exact up to 2^53, as msgpackr does). */
function countSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x100) return 2;
  if (value < 0x10000) return 3;
  return value <= 0xffffffff ? 5 : 9;
}

function writeCount(out: Buffer, at: number, value: number): number {
  if (value < 0x80) {
    out[at] = value;
    return at + 1;
  }
  if (value < 0x100) {
    out[at] = 0xcc;
    out[at + 1] = value;
    return at + 2;
  }
  if (value < 0x10000) {
    out[at] = 0xcd;
    out.writeUInt16BE(value, at + 1);
    return at + 3;
  }
  if (value <= 0xffffffff) {
    out[at] = 0xce;
    out.writeUInt32BE(value, at + 1);
    return at + 5;
  }
  out[at] = 0xcb;
  out.writeDoubleBE(value, at + 1);
  return at + 9;
}

/** msgpack's forms of a length-prefixed value: 8-, 16- and 32-bit lengths, and one for lengths under 32 (strings). */
interface LengthForms {
  readonly fix?: number;
  readonly u8: number;
  readonly u16: number;
  readonly u32: number;
}

const BINARY: LengthForms = { u8: 0xc4, u16: 0xc5, u32: 0xc6 };
const STRING: LengthForms = { fix: 0xa0, u8: 0xd9, u16: 0xda, u32: 0xdb };

/** The header and the `length` bytes of a value of these forms. */
function lengthPrefixedSize(forms: LengthForms, length: number): number {
  if (forms.fix !== undefined && length < 32) return 1 + length;
  return (length < 0x100 ? 2 : length < 0x10000 ? 3 : 5) + length;
}

function writeLengthHeader(out: Buffer, at: number, forms: LengthForms, length: number): number {
  if (forms.fix !== undefined && length < 32) {
    out[at] = forms.fix | length;
    return at + 1;
  }
  if (length < 0x100) {
    out[at] = forms.u8;
    out[at + 1] = length;
    return at + 2;
  }
  if (length < 0x10000) {
    out[at] = forms.u16;
    out.writeUInt16BE(length, at + 1);
    return at + 3;
  }
  out[at] = forms.u32;
  out.writeUInt32BE(length, at + 1);
  return at + 5;
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
