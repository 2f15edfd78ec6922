import type { Prompter } from '../base/prompter.js';
import type { ForwardSessionState, ForwardSpec, SessionId, Selection } from '../model/session.js';

/**
 * What the daemon exposes for forward sessions (implemented by ForwardManager in
 * src/forward/manager.ts). Every method may be called concurrently; each honours its signal.
 * Selection errors are MutagenErrors with code MUTAGEN_INVALID_SELECTION or MUTAGEN_NOT_FOUND.
 */
export interface ForwardService {
  /** Unless paused: connects source (binding its listener; a bind error fails the create) then destination. */
  create(spec: ForwardSpec, options: { readonly paused: boolean; readonly prompter?: Prompter }, signal: AbortSignal): Promise<SessionId>;
  /** With sinceIndex, waits until the state index differs from it (long poll) or the signal aborts. */
  list(selection: Selection, sinceIndex: number | undefined, signal: AbortSignal): Promise<{ stateIndex: number; sessions: ForwardSessionState[] }>;
  /** Replaces the specification in place (same id); a running session reconnects with it. */
  update(id: SessionId, spec: ForwardSpec, signal: AbortSignal): Promise<void>;
  pause(selection: Selection, signal: AbortSignal): Promise<SessionId[]>;
  resume(selection: Selection, options: { readonly prompter?: Prompter }, signal: AbortSignal): Promise<SessionId[]>;
  terminate(selection: Selection, signal: AbortSignal): Promise<SessionId[]>;
  /** Stops every session without marking it paused (daemon shutdown). */
  close(): Promise<void>;
}
