import type { Change, Entry, Problem, Snapshot } from '../model/entry.js';
import type { StagingProgress } from '../model/session.js';
import type { Operation, Signature } from './rsync/types.js';

/**
 * One side of a sync session. The controller cannot tell LocalEndpoint from RemoteEndpoint.
 * Calls are sequential, except shutdown(): it may come at any time, is idempotent, and makes a
 * pending call reject promptly. After any rejection, only shutdown() may follow.
 */
export interface Endpoint {
  /** Resolves when something may have changed: a hint, never a diff. */
  poll(signal: AbortSignal): Promise<void>;
  /** `full` = flush requested: walk the whole tree (still cache-warm). */
  scan(request: { readonly full: boolean }, signal: AbortSignal): Promise<ScanResult>;
  /** Receiver side: reuse local content, return what must be transferred with base signatures. */
  stage(files: readonly StageRequest[], signal: AbortSignal): Promise<StagePlan>;
  /** Sender side: stream deltas for `request.paths` against `request.signatures` into `receiver`. */
  supply(request: SupplyRequest, receiver: DeltaReceiver, signal: AbortSignal): Promise<void>;
  /** Apply changes; per-path failures are problems in the result, not rejections. */
  transition(changes: readonly Change[], signal: AbortSignal): Promise<TransitionResult>;
  /**
   * True when this side vouches that nothing in its root changed since its latest scan began
   * (the watcher covered the root and recorded nothing); false whenever in doubt. May be called
   * while another call runs: a flush that arrives mid-cycle is then answered by that cycle.
   */
  quietSinceScan(signal: AbortSignal): Promise<boolean>;
  /**
   * Optional (both sides local, in one process): while `enabled`, the scans of `source` also
   * copy each new small file they hash into this side's staging area, from the same reads, as
   * long as this side's last scan found nothing (an empty or missing root: every file of the
   * other side is then created here). The stage phase finds those files staged already.
   */
  acceptPrestaging?(source: Endpoint, enabled: boolean): void;
  /** Live staging progress while receiving, for the session state. */
  stagingProgress(): StagingProgress | undefined;
  shutdown(): Promise<void>;
  /**
   * The session is being terminated: shutdown(), without persisting what is about to go, and
   * remove what this session keeps on that side (scan cache, staging area). Best effort. A
   * local endpoint leaves the removal to the daemon, which removes its files itself.
   */
  discard?(): Promise<void>;
}

export type ScanResult =
  | { readonly kind: 'snapshot'; readonly snapshot: Snapshot }
  | { readonly kind: 'retry'; readonly reason: string };

export interface StageRequest {
  readonly path: string;
  readonly digest: Uint8Array;
}

export interface StagePlan {
  /** Paths that must be transferred, an ordered subset of the request. */
  readonly paths: readonly string[];
  readonly signatures: readonly Signature[];
  readonly receiver: DeltaReceiver | undefined;
}

export interface SupplyRequest {
  readonly paths: readonly string[];
  readonly signatures: readonly Signature[];
}

/** For each requested path, in order: zero or more operations, then one `done`. */
export type Transmission =
  | { readonly kind: 'operation'; readonly operation: Operation; readonly expectedSize?: number }
  | { readonly kind: 'done'; readonly error?: string };

/** Awaiting write() is the back-pressure. finish() after the last path's `done`. */
export interface DeltaReceiver {
  write(transmission: Transmission): Promise<void>;
  /**
   * The same as write() of a data operation with `data` followed by write() of a `done` without
   * error: a file whose whole content came in one piece. For receivers with a cheaper path for it.
   */
  writeWhole?(data: Uint8Array, expectedSize: number | undefined): Promise<void>;
  finish(): Promise<void>;
}

export interface TransitionResult {
  /** One per change: what is on disk now at that path (new on success, old on failure, partial). */
  readonly results: readonly (Entry | undefined)[];
  readonly problems: readonly Problem[];
  readonly missingStagedFiles: boolean;
}
