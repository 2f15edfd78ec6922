import { MutagenError } from '../../base/errors.js';
import { MAX_DATA_OPERATION_SIZE, type BlockHash, type Operation, type Signature } from './types.js';

const MINIMUM_BLOCK_SIZE = 1024;
const MAXIMUM_BLOCK_SIZE = 65_536;
const SHA1_LENGTH = 20;
const UINT32_LIMIT = 0x1_0000_0000;

/** A byte range of the base: what a block run copies. */
export interface BaseRange {
  readonly offset: number;
  readonly length: number;
}

/**
 * Checks a signature that may come from an untrusted peer: block size within [1024, 65536]
 * unless empty, last block size within [1, blockSize], 20-byte SHA-1 strong hashes, uint32 weak
 * hashes, and (when `baseSize` is known) a hash count and last block size that add up to it.
 * Throws MutagenError('MUTAGEN_PROTOCOL').
 */
export function validateSignature(signature: Signature, baseSize?: number): void {
  const problem = signatureProblem(signature, baseSize);
  if (problem !== undefined) throw new MutagenError('MUTAGEN_PROTOCOL', `invalid signature: ${problem}`);
}

function signatureProblem(signature: Signature, baseSize: number | undefined): string | undefined {
  const { blockSize, lastBlockSize, hashes } = signature;
  if (!Number.isSafeInteger(blockSize) || !Number.isSafeInteger(lastBlockSize) || !Array.isArray(signature.hashes)) {
    return 'malformed fields';
  }
  if (blockSize === 0) {
    if (lastBlockSize !== 0 || hashes.length !== 0) return 'block size of 0 with blocks';
    if (baseSize !== undefined && baseSize !== 0) return `empty signature for a base of ${baseSize} bytes`;
    return undefined;
  }
  if (blockSize < MINIMUM_BLOCK_SIZE || blockSize > MAXIMUM_BLOCK_SIZE) return `block size ${blockSize} out of range`;
  if (lastBlockSize < 1 || lastBlockSize > blockSize) return `last block size ${lastBlockSize} out of range`;
  if (hashes.length === 0) return 'no block hashes';
  const covered = (hashes.length - 1) * blockSize + lastBlockSize;
  if (baseSize !== undefined && covered !== baseSize) return `signature covers ${covered} bytes, base has ${baseSize}`;
  return blockHashesProblem(hashes);
}

function blockHashesProblem(hashes: readonly BlockHash[]): string | undefined {
  for (let index = 0; index < hashes.length; index++) {
    const { weak, strong } = hashes[index]!;
    if (!Number.isInteger(weak) || weak < 0 || weak >= UINT32_LIMIT) return `weak hash of block ${index} out of range`;
    if (!(strong instanceof Uint8Array) || strong.length !== SHA1_LENGTH) return `strong hash of block ${index} is not sha-1`;
  }
  return undefined;
}

/**
 * Checks an operation from an untrusted peer against the signature it applies to and returns
 * the base range a block run copies (undefined for data). Throws MutagenError('MUTAGEN_STAGING').
 */
export function operationRange(operation: Operation, signature: Signature): BaseRange | undefined {
  const kind = (operation as { readonly kind?: unknown }).kind;
  if (kind === 'data') {
    const { data } = operation as Extract<Operation, { kind: 'data' }>;
    if (!(data instanceof Uint8Array) || data.length === 0 || data.length > MAX_DATA_OPERATION_SIZE) {
      throw new MutagenError('MUTAGEN_STAGING', 'invalid data operation: size out of range');
    }
    return undefined;
  }
  if (kind !== 'blocks') throw new MutagenError('MUTAGEN_STAGING', 'invalid operation: unknown kind');
  const { start, count } = operation as Extract<Operation, { kind: 'blocks' }>;
  const blocks = signature.hashes.length;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 1 || start + count > blocks) {
    throw new MutagenError('MUTAGEN_STAGING', `invalid block operation: blocks ${start}+${count} out of range (base has ${blocks})`);
  }
  const end = start + count;
  const length = (count - 1) * signature.blockSize + (end === blocks ? signature.lastBlockSize : signature.blockSize);
  return { offset: start * signature.blockSize, length };
}
