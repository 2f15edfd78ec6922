/** rsync-style signature of a base file (sync-semantics §6.3). Empty base: {0, 0, []}. */
export interface BlockHash {
  readonly weak: number;
  /** SHA-1 of the block (always SHA-1, whatever the session hash). */
  readonly strong: Uint8Array;
}

export interface Signature {
  readonly blockSize: number;
  readonly lastBlockSize: number;
  readonly hashes: readonly BlockHash[];
}

/** Either literal bytes (non-empty, ≤ 64 KiB) or a run of base blocks `start … start+count−1`. */
export type Operation =
  | { readonly kind: 'data'; readonly data: Uint8Array }
  | { readonly kind: 'blocks'; readonly start: number; readonly count: number };

export const EMPTY_SIGNATURE: Signature = { blockSize: 0, lastBlockSize: 0, hashes: [] };
export const MAX_DATA_OPERATION_SIZE = 65_536;
