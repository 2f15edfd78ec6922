import { createHash } from 'node:crypto';
import { rollWeakHash, weakHash } from '../../../src/sync/rsync/signature.js';
import type { Signature } from '../../../src/sync/rsync/types.js';

const MAX = 65_536;

/**
 * A plain restatement of sync-semantics §6.3 (one Go-style buffer of 64 KiB + B, one byte at a
 * time, first matching candidate), returning the operation shapes. Slow; the oracle for delta.ts.
 * `preferNext`: the engine's one refinement, among blocks that match a window the one that
 * extends the current run wins (else the lowest) — the oracle with duplicate blocks.
 */
export function referenceShapes(target: Uint8Array, signature: Signature, options: { readonly preferNext?: boolean } = {}): string[] {
  const out: string[] = [];
  let runStart = 0;
  let runCount = 0;
  const flushRun = (): void => {
    if (runCount > 0) out.push(`blocks:${runStart}+${runCount}`);
    runCount = 0;
  };
  const sendData = (length: number): void => {
    if (length > 0) flushRun();
    for (let left = length; left > 0; left -= MAX) out.push(`data:${Math.min(left, MAX)}`);
  };
  const sendBlock = (index: number): void => {
    if (runCount > 0 && runStart + runCount === index) runCount++;
    else {
      flushRun();
      runStart = index;
      runCount = 1;
    }
  };
  const { blockSize: B, hashes } = signature;
  if (hashes.length === 0) {
    sendData(target.length);
    return out;
  }
  const short = signature.lastBlockSize !== B;
  const full = short ? hashes.length - 1 : hashes.length;
  let start = 0; // buffer = target[start, start + occupancy)
  let occupancy = 0;
  let position = 0;
  let weak = 0;
  for (;;) {
    if (occupancy === 0) {
      if (target.length - position < B) {
        occupancy = target.length - position;
        break;
      }
      occupancy = B;
      position += B;
      weak = weakHash(target.subarray(start, start + B), B);
    } else {
      if (position === target.length) break;
      weak = rollWeakHash(weak, target[position - B]!, target[position]!, B);
      position++;
      occupancy++;
    }
    const window = target.subarray(position - B, position);
    const next = options.preferNext === true && runCount > 0 ? runStart + runCount : -1;
    const match = firstMatch(signature, full, next, weak, window);
    if (match >= 0) {
      sendData(occupancy - B);
      sendBlock(match);
      start += occupancy;
      occupancy = 0;
    } else if (occupancy === MAX + B) {
      sendData(occupancy - B);
      start += occupancy - B;
      occupancy = B;
    }
  }
  const last = signature.lastBlockSize;
  if (short && occupancy >= last) {
    const tail = target.subarray(start + occupancy - last, start + occupancy);
    if (blockMatches(signature, hashes.length - 1, weakHash(tail, B), tail)) {
      sendData(occupancy - last);
      sendBlock(hashes.length - 1);
      occupancy = 0;
    }
  }
  sendData(occupancy);
  flushRun();
  return out;
}

function blockMatches(signature: Signature, index: number, weak: number, window: Uint8Array): boolean {
  const hash = signature.hashes[index]!;
  return hash.weak === weak && createHash('sha1').update(window).digest('hex') === Buffer.from(hash.strong).toString('hex');
}

/** The block among the first `full` that `window` matches: `preferred` first (when ≥ 0), else the lowest; -1 if none. */
function firstMatch(signature: Signature, full: number, preferred: number, weak: number, window: Uint8Array): number {
  if (preferred >= 0 && preferred < full && blockMatches(signature, preferred, weak, window)) return preferred;
  for (let i = 0; i < full; i++) if (blockMatches(signature, i, weak, window)) return i;
  return -1;
}
