import { assertNever, wrapError } from '../base/errors.js';
import type { ForwardSpec, SessionId, SyncSpec } from '../model/session.js';
import { isSyncKey, isSyncSpec } from '../planner/observed.js';
import type { SessionKey } from '../planner/observed.js';
import type { Action, Plan } from '../planner/plan.js';
import type { ProjectDaemon, RuntimePrompter } from './daemon-api.js';
import { DEFAULT_CONCURRENCY, runSteps } from './progress.js';
import type { RunOptions, RunResult, SessionTask, Step, TaskOutcome } from './progress.js';

type SessionAction = Exclude<Action, { kind: 'hook' }>;

export interface ApplyOptions extends Omit<RunOptions, 'concurrency'> {
  readonly daemon: ProjectDaemon;
  /** Relays SSH prompts of creates and resumes to the user. */
  readonly prompter?: RuntimePrompter;
  readonly concurrency?: number;
}

function sessionName(key: SessionKey): string {
  return key.slice(key.indexOf(':') + 1);
}

function what(key: SessionKey): string {
  return isSyncKey(key) ? 'synchronization' : 'forwarding';
}

function byId(id: SessionId): { selection: { specifications: string[] } } {
  return { selection: { specifications: [id] } };
}

/**
 * Runs one daemon call, wrapping a failure as `unable to <verb> <kind> session (<name>): …` (the
 * cause's code kept). A daemon that cannot run forward sessions answers MUTAGEN_UNSUPPORTED: a
 * failure like any other, never a silent skip.
 */
async function attempt<T>(key: SessionKey, verb: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw wrapError(`unable to ${verb} ${what(key)} session (${sessionName(key)})`, error);
  }
}

/** Executes the actions of one session, in order; remembers the identifiers of new sessions. */
class SessionRunner {
  /** Session keys → identifiers of sessions created in this run (for flushOnCreate). */
  readonly created = new Map<SessionKey, SessionId>();

  constructor(private readonly options: ApplyOptions) {}

  private calls(status: (message: string) => void, signal: AbortSignal, prompting: boolean): { signal: AbortSignal; onStatus: (message: string) => void; prompter?: RuntimePrompter } {
    return { signal, onStatus: status, ...(prompting && this.options.prompter !== undefined ? { prompter: this.options.prompter } : {}) };
  }

  private async create(key: SessionKey, spec: SyncSpec | ForwardSpec, paused: boolean, status: (message: string) => void, signal: AbortSignal): Promise<TaskOutcome> {
    const { daemon } = this.options;
    const options = this.calls(status, signal, true);
    const { id } = await attempt(key, 'create', () => isSyncSpec(spec)
      ? daemon.call('sync.create', { spec, paused }, options)
      : daemon.call('forward.create', { spec, paused }, options));
    this.created.set(key, id);
    return { kind: 'done', note: `created ${id}${paused ? ' (paused)' : ''}` };
  }

  private async terminate(key: SessionKey, id: SessionId, signal: AbortSignal): Promise<void> {
    const method = isSyncKey(key) ? 'sync.terminate' : 'forward.terminate';
    await attempt(key, 'terminate', () => this.options.daemon.call(method, byId(id), { signal }));
  }

  /** Flushes before a recreate; a session that cannot flush (disconnected, halted) is recreated all the same. */
  private async flushFirst(id: SessionId, status: (message: string) => void, signal: AbortSignal): Promise<string | undefined> {
    try {
      await this.options.daemon.call('sync.flush', { ...byId(id), skipWait: false }, { signal, onStatus: status });
      return undefined;
    } catch (error) {
      signal.throwIfAborted();
      return `not flushed first (${error instanceof Error ? error.message : String(error)}); the new session reconciles both sides`;
    }
  }

  async action(action: SessionAction, status: (message: string) => void, signal: AbortSignal): Promise<TaskOutcome> {
    const { daemon } = this.options;
    const key = action.key;
    const sync = isSyncKey(key);
    switch (action.kind) {
      case 'keep':
        return { kind: 'done' };
      case 'create':
        return this.create(key, action.spec, action.paused, status, signal);
      case 'recreate': {
        const unflushed = action.flushFirst && sync ? await this.flushFirst(action.sessionId, status, signal) : undefined;
        await this.terminate(key, action.sessionId, signal);
        const created = await this.create(key, action.spec, action.paused, status, signal);
        return created.kind === 'done' && unflushed !== undefined ? { kind: 'done', note: `${created.note ?? ''}; ${unflushed}` } : created;
      }
      case 'update': {
        const spec = action.spec;
        await attempt(key, 'update', () => isSyncSpec(spec)
          ? daemon.call('sync.update', { id: action.sessionId, spec }, { signal, onStatus: status })
          : daemon.call('forward.update', { id: action.sessionId, spec }, { signal, onStatus: status }));
        return { kind: 'done', note: `updated ${action.sessionId} in place (${action.changed.join(', ')})` };
      }
      case 'pause':
        await attempt(key, 'pause', () => daemon.call(sync ? 'sync.pause' : 'forward.pause', byId(action.sessionId), { signal }));
        return { kind: 'done', note: 'paused' };
      case 'resume':
        await attempt(key, 'resume', () => daemon.call(sync ? 'sync.resume' : 'forward.resume', byId(action.sessionId), this.calls(status, signal, true)));
        return { kind: 'done', note: 'resumed' };
      case 'terminate':
        await this.terminate(key, action.sessionId, signal);
        return { kind: 'done', note: `terminated ${action.sessionId}` };
      default:
        return assertNever(action, 'plan action');
    }
  }

  /** One task for consecutive actions of the same session (e.g. update + resume). */
  task(actions: readonly SessionAction[]): SessionTask {
    const first = actions[0];
    const key = first?.key ?? 'sync:';
    return {
      title: `${actions.map((action) => action.kind).join(' + ')} ${key}`,
      detail: actions.map((action) => action.reason).join('; '),
      run: async (status, signal) => {
        const notes: string[] = [];
        for (const action of actions) {
          const outcome = await this.action(action, status, signal);
          if (outcome.kind === 'skipped') return outcome;
          if (outcome.note !== undefined) notes.push(outcome.note);
        }
        return { kind: 'done', note: notes.join('; ') };
      },
    };
  }

  flush(action: Extract<Action, { kind: 'create' | 'recreate' }>): SessionTask {
    return {
      title: `flush ${action.key}`,
      detail: 'flushOnCreate: wait for the first synchronization cycle',
      run: async (status, signal) => {
        const id = this.created.get(action.key);
        if (id === undefined) return { kind: 'skipped', reason: 'the session was not created' };
        await attempt(action.key, 'flush', () => this.options.daemon.call('sync.flush', { ...byId(id), skipWait: false }, { signal, onStatus: status }));
        return { kind: 'done', note: 'synchronized' };
      },
    };
  }
}

type Group = 'terminate' | 'forward' | 'sync';

function groupOf(action: SessionAction): Group {
  if (action.kind === 'terminate') return 'terminate';
  return isSyncKey(action.key) ? 'sync' : 'forward';
}

const GROUP_TITLES: Readonly<Record<Group, string>> = {
  terminate: 'terminate sessions no longer wanted',
  forward: 'forwarding sessions',
  sync: 'synchronization sessions',
};

/** Consecutive actions of one group, split into per-session units. */
function units(actions: readonly SessionAction[]): SessionAction[][] {
  const out: SessionAction[][] = [];
  for (const action of actions) {
    const last = out.at(-1);
    if (last?.[0]?.key === action.key && action.kind !== 'terminate') last.push(action);
    else out.push([action]);
  }
  return out;
}

/**
 * The steps that carry out `plan` (ARCHITECTURE §4.1 step 9): each hook phase is a step;
 * consecutive session actions form a step per group (terminations, forward sessions, sync
 * sessions) whose sessions run concurrently; after the sync sessions, a flush step waits for the
 * first cycle of every session created with `flushOnCreate`. Steps keep the plan's order.
 */
export function planSteps(plan: Plan, options: ApplyOptions): Step[] {
  const runner = new SessionRunner(options);
  const steps: Step[] = [];
  const actions = plan.actions;
  let index = 0;
  while (index < actions.length) {
    const action = actions[index];
    if (action === undefined) break;
    if (action.kind === 'hook') {
      steps.push({ kind: 'hook', title: `hook ${action.phase}`, detail: action.reason, phase: action.phase, commands: action.commands });
      index++;
      continue;
    }
    const group = groupOf(action);
    const members: SessionAction[] = [];
    for (let next = actions[index]; next !== undefined && next.kind !== 'hook' && groupOf(next) === group; next = actions[++index]) members.push(next);
    steps.push({ kind: 'sessions', title: GROUP_TITLES[group], tasks: units(members).map((unit) => runner.task(unit)) });
    if (group !== 'sync') continue;
    const flushes = members.filter((member): member is Extract<Action, { kind: 'create' | 'recreate' }> =>
      (member.kind === 'create' || member.kind === 'recreate') && member.flushOnCreate);
    if (flushes.length > 0) steps.push({ kind: 'sessions', title: 'flush on create', tasks: flushes.map((member) => runner.flush(member)) });
  }
  return steps;
}

/**
 * Carries out a plan through the daemon (ARCHITECTURE §4.1 steps 9–10): hooks in order with
 * their commands echoed, terminations, forward sessions, sync sessions (up to `concurrency` at
 * once per step), the flushOnCreate flushes, after hooks. Stops at the first failure and reports what was applied;
 * a later `start` (with a new plan) or `terminate` repairs a partial run.
 */
export function applyPlan(plan: Plan, options: ApplyOptions): Promise<RunResult> {
  return runSteps(planSteps(plan, options), { ...options, concurrency: options.concurrency ?? DEFAULT_CONCURRENCY });
}
