import { StateIndex } from '../../src/base/state-index.js';
import { MutagenError } from '../../src/base/errors.js';
import type { Conflict, Problem } from '../../src/model/entry.js';
import { newIdentifier } from '../../src/model/identifier.js';
import { selectSessions } from '../../src/model/selection.js';
import type { EndpointState, Selection, SessionId, SyncSessionRecord, SyncSessionState, SyncSpec } from '../../src/model/session.js';
import type { Prompter } from '../../src/base/prompter.js';
import type { SyncService } from '../../src/sync/service.js';

/**
 * The one allowed double: an in-memory SyncService for testing the daemon's RPC layer and the
 * CLI without the engine. Sessions are records plus a fixed live state. Labels steer it:
 *   fixture=conflicts  state with conflicts, problems and a last error (rendering tests)
 *   fixture=staging    status staging-beta with staging progress
 *   prompt=<text>      create asks `<text>` (echo) and stores the answer as label `answer`
 *   fail=<text>        create fails with `unable to connect to beta: <text>`
 * Every call that ends because its signal aborted is recorded in `aborted` (method names).
 */
export class InMemorySyncService implements SyncService {
  readonly aborted: string[] = [];
  readonly calls: string[] = [];
  private readonly records: SyncSessionRecord[] = [];
  private readonly stateIndex = new StateIndex();
  closed = false;

  constructor(private readonly version = '0.0.0-test') {}

  async create(spec: SyncSpec, options: { readonly paused: boolean; readonly prompter?: Prompter }, signal: AbortSignal): Promise<SessionId> {
    this.calls.push('create');
    options.prompter?.status('Creating session...');
    const labels = { ...spec.labels };
    const question = labels['prompt'];
    if (question !== undefined) {
      if (options.prompter === undefined) throw new MutagenError('MUTAGEN_UNSUPPORTED', 'no prompter');
      labels['answer'] = await this.track('create', options.prompter.prompt({ kind: 'echo', message: question }, signal), signal);
    }
    const failure = labels['fail'];
    if (failure !== undefined) throw new MutagenError('MUTAGEN_ENDPOINT', `unable to connect to beta: ${failure}`, { hint: 'Check the beta URL.' });
    const record: SyncSessionRecord = {
      ...spec, labels, id: newIdentifier('sync'), version: 1, paused: options.paused,
      createdAt: new Date(Date.now() + this.records.length).toISOString(), creatingVersion: this.version,
    };
    this.records.push(record);
    this.changed();
    return record.id;
  }

  async list(selection: Selection, sinceIndex: number | undefined, signal: AbortSignal): Promise<{ stateIndex: number; sessions: SyncSessionState[] }> {
    this.calls.push('list');
    if (sinceIndex !== undefined && sinceIndex === this.stateIndex.current) await this.track('list', this.stateIndex.waitForChange(signal), signal);
    const chosen = selectSessions(this.records, selection, { allowNone: true });
    return { stateIndex: this.stateIndex.current, sessions: chosen.map(stateOf) };
  }

  update(id: SessionId, spec: SyncSpec): Promise<void> {
    this.calls.push('update');
    const index = this.records.findIndex((r) => r.id === id);
    const record = this.records[index];
    if (record === undefined) return Promise.reject(new MutagenError('MUTAGEN_NOT_FOUND', `session ${id} not found`));
    this.records[index] = { ...record, ...spec };
    this.changed();
    return Promise.resolve();
  }

  flush(selection: Selection, _skipWait: boolean, signal: AbortSignal): Promise<SessionId[]> {
    this.calls.push('flush');
    const chosen = this.select(selection);
    signal.throwIfAborted();
    if (chosen.some((r) => r.paused)) return Promise.reject(new MutagenError('MUTAGEN_SESSION_PAUSED', 'session is paused'));
    return Promise.resolve(chosen.map((r) => r.id));
  }

  pause(selection: Selection): Promise<SessionId[]> {
    return this.setPaused('pause', selection, true);
  }

  resume(selection: Selection): Promise<SessionId[]> {
    return this.setPaused('resume', selection, false);
  }

  reset(selection: Selection): Promise<SessionId[]> {
    this.calls.push('reset');
    return Promise.resolve(this.select(selection).map((r) => r.id));
  }

  terminate(selection: Selection): Promise<SessionId[]> {
    this.calls.push('terminate');
    const chosen = this.select(selection).map((r) => r.id);
    for (const id of chosen) this.records.splice(this.records.findIndex((r) => r.id === id), 1);
    this.changed();
    return Promise.resolve(chosen);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private select(selection: Selection): SyncSessionRecord[] {
    return selectSessions(this.records, selection, { allowNone: false });
  }

  private setPaused(method: string, selection: Selection, paused: boolean): Promise<SessionId[]> {
    this.calls.push(method);
    const chosen = this.select(selection);
    for (const record of chosen) this.records[this.records.indexOf(record)] = { ...record, paused };
    this.changed();
    return Promise.resolve(chosen.map((r) => r.id));
  }

  private changed(): void {
    this.stateIndex.bump();
  }

  private async track<T>(method: string, promise: Promise<T>, signal: AbortSignal): Promise<T> {
    try {
      return await promise;
    } catch (error) {
      if (signal.aborted) this.aborted.push(method);
      throw error;
    }
  }
}

const file = (hex: string, executable = false): { kind: 'file'; digest: Uint8Array; executable: boolean } =>
  ({ kind: 'file', digest: new Uint8Array(Buffer.from(hex, 'hex')), executable });

function endpoint(connected: boolean, extra: Partial<EndpointState> = {}): EndpointState {
  return {
    connected, scanned: connected, directories: connected ? 3 : 0, files: connected ? 10 : 0, symbolicLinks: connected ? 1 : 0,
    totalFileSize: connected ? 48_213 : 0, scanProblems: [], excludedScanProblems: 0, transitionProblems: [], excludedTransitionProblems: 0,
    stagingProgress: undefined, ...extra,
  };
}

const FIXTURE_CONFLICTS: Conflict[] = [
  { root: '', alphaChanges: [{ path: '', old: undefined, new: { kind: 'directory', contents: new Map() } }], betaChanges: [{ path: '', old: undefined, new: file('ab12') }] },
  {
    root: 'src/app.js',
    alphaChanges: [{ path: 'src/app.js', old: file('0011'), new: file('0022', true) }],
    betaChanges: [{ path: 'src/app.js', old: file('0011'), new: { kind: 'symlink', target: 'x\u001b[31m' } }],
  },
];
const FIXTURE_PROBLEMS: Problem[] = [{ path: '', error: 'root problem' }, { path: 'bad\rname', error: 'unable to read' }];

function stateOf(record: SyncSessionRecord): SyncSessionState {
  const base: SyncSessionState = {
    session: record, status: record.paused ? 'disconnected' : 'watching', lastError: undefined, successfulCycles: record.paused ? 0 : 1,
    conflicts: [], excludedConflicts: 0, alpha: endpoint(!record.paused), beta: endpoint(!record.paused),
  };
  if (record.paused) return base;
  if (record.labels['fixture'] === 'conflicts') {
    return {
      ...base, lastError: 'unable to connect to beta: connection refused', conflicts: FIXTURE_CONFLICTS, excludedConflicts: 3,
      alpha: endpoint(true, { scanProblems: FIXTURE_PROBLEMS, excludedScanProblems: 1 }),
    };
  }
  if (record.labels['fixture'] === 'staging') {
    const stagingProgress = { path: 'dir/big.bin', receivedSize: 1_500_000, expectedSize: 4_200_000, receivedFiles: 3, expectedFiles: 10, totalReceivedSize: 12_000_000 };
    return { ...base, status: 'staging-beta', beta: endpoint(true, { stagingProgress }) };
  }
  return base;
}
