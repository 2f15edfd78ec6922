import * as crypto from 'node:crypto';

/** crypto.hash (Node ≥ 20.12) is faster for small inputs; the agent also runs on Node 18. */
const oneShotHash: typeof crypto.hash | undefined = typeof crypto.hash === 'function' ? crypto.hash : undefined;

/** The digest of `data` in one call (no Hash object where the runtime has crypto.hash). */
export function digestOnce(algorithm: 'sha1' | 'sha256', data: Uint8Array): Buffer {
  return oneShotHash === undefined ? crypto.createHash(algorithm).update(data).digest() : oneShotHash(algorithm, data, 'buffer');
}
