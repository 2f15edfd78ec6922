import { afterEach, beforeEach } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Logger, parseLogLevel, silentLogger } from '../../src/base/logger.js';
import {
  emptySyncConfiguration, type IgnoreSyntax, type StageMode, type SymlinkMode, type SyncConfiguration, type SyncMode, type WatchMode,
} from '../../src/model/configuration.js';
import type { SessionId, SyncSessionState, SyncSpec } from '../../src/model/session.js';
import { SyncManager } from '../../src/sync/manager.js';

/** Session settings a test cares about; everything else stays unset (default). */
export interface SessionSettings {
  readonly mode?: SyncMode;
  readonly ignores?: readonly string[];
  readonly ignoreSyntax?: IgnoreSyntax;
  readonly ignoreVcs?: boolean;
  readonly symlinkMode?: SymlinkMode;
  readonly watchMode?: WatchMode;
  /** Per-endpoint override of the watch mode on beta. */
  readonly betaWatchMode?: WatchMode;
  readonly stageMode?: StageMode;
  readonly maxStagingFileSize?: number;
  readonly name?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export function syncConfiguration(settings: SessionSettings): SyncConfiguration {
  const c = emptySyncConfiguration();
  return {
    ...c,
    ...(settings.mode === undefined ? {} : { mode: settings.mode }),
    ...(settings.stageMode === undefined ? {} : { stageMode: settings.stageMode }),
    ...(settings.maxStagingFileSize === undefined ? {} : { maxStagingFileSize: settings.maxStagingFileSize }),
    ignore: {
      ...(settings.ignoreSyntax === undefined ? {} : { syntax: settings.ignoreSyntax }),
      ...(settings.ignores === undefined ? {} : { paths: settings.ignores }),
      ...(settings.ignoreVcs === undefined ? {} : { vcs: settings.ignoreVcs }),
    },
    symlink: settings.symlinkMode === undefined ? {} : { mode: settings.symlinkMode },
    watch: settings.watchMode === undefined ? {} : { mode: settings.watchMode },
  };
}

/** A spec for a session between two local paths. */
export function localSpec(alpha: string, beta: string, settings: SessionSettings = {}): SyncSpec {
  return {
    name: settings.name ?? '',
    labels: { ...settings.labels },
    alpha: { kind: 'sync', protocol: 'local', path: alpha },
    beta: { kind: 'sync', protocol: 'local', path: beta },
    configuration: syncConfiguration(settings),
    configurationAlpha: emptySyncConfiguration(),
    configurationBeta: settings.betaWatchMode === undefined ? emptySyncConfiguration() : { ...emptySyncConfiguration(), watch: { mode: settings.betaWatchMode } },
  };
}

/** MUTAGEN_TEST_LOG=debug prints engine logs to stderr while debugging a test. */
export function testLogger(): Logger {
  const level = process.env['MUTAGEN_TEST_LOG'];
  return level === undefined || level === '' ? silentLogger : new Logger(process.stderr, parseLogLevel(level));
}

/** Opens (and initializes) a manager on a data directory, as the daemon does at start-up. */
export async function openManager(dataDirectory: string): Promise<{ manager: SyncManager; failures: { file: string; error: string }[] }> {
  const manager = new SyncManager({ dataDirectory, logger: testLogger(), version: '0.1.0-test' });
  const failures = await manager.initialize();
  return { manager, failures };
}

/** A temp workspace: `alpha`, `beta` (not created) and `data` paths under one removable base. */
export interface Workspace {
  readonly base: string;
  readonly alpha: string;
  readonly beta: string;
  readonly data: string;
  at(...parts: string[]): string;
  dispose(): Promise<void>;
}

export async function createWorkspace(prefix = 'mutagen-session-'): Promise<Workspace> {
  const base = await mkdtemp(path.join(os.tmpdir(), prefix));
  return {
    base,
    alpha: path.join(base, 'alpha'),
    beta: path.join(base, 'beta'),
    data: path.join(base, 'data'),
    at: (...parts) => path.join(base, ...parts),
    dispose: () => rm(base, { recursive: true, force: true, maxRetries: 3 }),
  };
}

export async function sessionState(manager: SyncManager, id: SessionId): Promise<SyncSessionState> {
  const { sessions } = await manager.list({ specifications: [id] }, undefined, AbortSignal.timeout(10_000));
  const state = sessions[0];
  if (state === undefined) throw new Error(`session ${id} not listed`);
  return state;
}

/** One-line summary of a state for assertion messages. */
export function describeState(state: SyncSessionState | undefined): string {
  if (state === undefined) return 'no state';
  const problems = [...state.alpha.scanProblems, ...state.beta.scanProblems, ...state.alpha.transitionProblems, ...state.beta.transitionProblems];
  return `status=${state.status} cycles=${state.successfulCycles} conflicts=${state.conflicts.length} lastError=${state.lastError ?? '-'}`
    + ` problems=${JSON.stringify(problems.map((p) => `${p.path}: ${p.error}`))}`;
}

/**
 * Waits (with `list` long-polls on the state index, never sleeps) until the session's state
 * satisfies `predicate`; returns that state. Fails with the last state after the timeout.
 */
export async function waitForState(
  manager: SyncManager, id: SessionId, predicate: (state: SyncSessionState) => boolean, timeoutMs = 30_000,
): Promise<SyncSessionState> {
  const signal = AbortSignal.timeout(timeoutMs);
  let since: number | undefined;
  let last: SyncSessionState | undefined;
  for (;;) {
    try {
      const { stateIndex, sessions } = await manager.list({ specifications: [id] }, since, signal);
      last = sessions[0];
      if (last !== undefined && predicate(last)) return last;
      since = stateIndex;
    } catch (error) {
      if (signal.aborted) throw new Error(`timed out waiting for session state (${describeState(last)})`, { cause: error });
      throw error;
    }
  }
}

/** Flushes one session and returns its state right after the flushed cycle. */
export async function flushAndState(manager: SyncManager, id: SessionId): Promise<SyncSessionState> {
  await manager.flush({ specifications: [id] }, false, AbortSignal.timeout(60_000));
  return sessionState(manager, id);
}

/** Waits until a cycle beyond `after` completed and the session is back to watching. */
export function waitForCycle(manager: SyncManager, id: SessionId, after: number, timeoutMs = 30_000): Promise<SyncSessionState> {
  return waitForState(manager, id, (s) => s.successfulCycles > after && s.status === 'watching', timeoutMs);
}

/**
 * Gives each test of the enclosing describe a fresh workspace and manager (beforeEach) and
 * closes them afterwards. `current` returns the manager to close, as a test may replace it.
 */
export function useEngine(bind: (ws: Workspace, manager: SyncManager) => void, current: () => SyncManager, prefix?: string): void {
  let workspace: Workspace | undefined;
  beforeEach(async () => {
    workspace = await createWorkspace(prefix);
    const { manager } = await openManager(workspace.data);
    bind(workspace, manager);
  });
  afterEach(async () => {
    await current().close();
    await workspace?.dispose();
  });
}
