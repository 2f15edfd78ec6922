import type { Prompter } from '../base/prompter.js';
import type { SessionId, Selection, SyncSessionState, SyncSpec } from '../model/session.js';


/**
 * What the daemon exposes for sync sessions (implemented by SyncManager in src/sync/manager.ts).
 * Every method may be called concurrently; each honours its signal. Selection errors are
 * MutagenErrors with code MUTAGEN_INVALID_SELECTION or MUTAGEN_NOT_FOUND.
 */
export interface SyncService {
  create(spec: SyncSpec, options: { readonly paused: boolean; readonly prompter?: Prompter }, signal: AbortSignal): Promise<SessionId>;
  /** With sinceIndex, waits until the state index differs from it (long poll) or the signal aborts. */
  list(selection: Selection, sinceIndex: number | undefined, signal: AbortSignal): Promise<{ stateIndex: number; sessions: SyncSessionState[] }>;
  /** In place: the ancestor is kept; endpoints reconnect with the new settings and rescan. */
  update(id: SessionId, spec: SyncSpec, signal: AbortSignal): Promise<void>;
  flush(selection: Selection, skipWait: boolean, signal: AbortSignal): Promise<SessionId[]>;
  pause(selection: Selection, signal: AbortSignal): Promise<SessionId[]>;
  resume(selection: Selection, options: { readonly prompter?: Prompter }, signal: AbortSignal): Promise<SessionId[]>;
  reset(selection: Selection, options: { readonly prompter?: Prompter }, signal: AbortSignal): Promise<SessionId[]>;
  terminate(selection: Selection, signal: AbortSignal): Promise<SessionId[]>;
  /** Halts every session without marking it paused (daemon shutdown). */
  close(): Promise<void>;
}
