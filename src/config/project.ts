import type { ForwardSpec, SyncSpec } from '../model/session.js';

/** Hook lists of a project file, in the order the verbs run them. */
export const HOOK_PHASES = [
  'beforeCreate', 'afterCreate', 'beforePause', 'afterPause',
  'beforeResume', 'afterResume', 'beforeTerminate', 'afterTerminate',
] as const;
export type HookPhase = (typeof HOOK_PHASES)[number];

/** Shell commands per phase (empty list = none); run with `/bin/sh -c` in the project folder. */
export interface Hooks {
  readonly beforeCreate: readonly string[];
  readonly afterCreate: readonly string[];
  readonly beforePause: readonly string[];
  readonly afterPause: readonly string[];
  readonly beforeResume: readonly string[];
  readonly afterResume: readonly string[];
  readonly beforeTerminate: readonly string[];
  readonly afterTerminate: readonly string[];
}

/**
 * A sync session as the file asks for it: URLs parsed (local paths absolute against the project
 * folder), configuration merged (global < defaults < session; ignores appended), `labels` empty
 * (the planner adds `io.mutagen.project` and `io.mutagen.spec-hash`). `specHash` covers the
 * whole spec except labels.
 */
export interface DesiredSyncSession {
  readonly key: `sync:${string}`;
  readonly name: string;
  readonly spec: SyncSpec;
  readonly flushOnCreate: boolean;
  readonly specHash: string;
  /** Where the session's key is written in the project file. */
  readonly position?: { readonly line: number; readonly col: number };
}

export interface DesiredForwardSession {
  readonly key: `forward:${string}`;
  readonly name: string;
  readonly spec: ForwardSpec;
  readonly specHash: string;
  readonly position?: { readonly line: number; readonly col: number };
}

/** A validated, normalised `mutagen.yml`. Sessions keep file order. */
export interface DesiredProject {
  /** Absolute path of the project file. */
  readonly file: string;
  /** Its folder: hooks and commands run here; relative local URLs resolved against it. */
  readonly directory: string;
  readonly sync: readonly DesiredSyncSession[];
  readonly forward: readonly DesiredForwardSession[];
  readonly hooks: Hooks;
  readonly commands: Readonly<Record<string, string>>;
  /** Problems that do not stop loading. Callers add findProjectFile's warnings. */
  readonly warnings: readonly string[];
}
