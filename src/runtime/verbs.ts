import { MutagenError, wrapError } from '../base/errors.js';
import type { DesiredProject, HookPhase } from '../config/project.js';
import type { ProjectId } from '../planner/observed.js';
import type { ProjectDaemon } from './daemon-api.js';
import { runShellCommand } from './hooks.js';
import type { CommandExit } from './hooks.js';
import { observeProject, projectSelection } from './observe.js';
import type { ProjectSessions } from './observe.js';
import { DEFAULT_CONCURRENCY, runSteps } from './progress.js';
import type { RunResult, SessionTask, Step } from './progress.js';
import { LazyConnection, loadProjectFile, withRunningProject } from './project.js';
import type { ProjectEnvironment } from './project.js';

type Kind = 'sync' | 'forward';
export type ControlVerb = 'pause' | 'resume' | 'flush' | 'reset' | 'terminate';

const NOUNS: Readonly<Record<Kind, string>> = { sync: 'synchronization', forward: 'forwarding' };

function plural(count: number): string {
  return `${count} session${count === 1 ? '' : 's'}`;
}

export interface ControlOptions {
  /** `project flush --skip-wait`: do not wait for the cycles to complete. */
  readonly skipWait?: boolean;
}

interface VerbContext {
  readonly environment: ProjectEnvironment;
  readonly options: ControlOptions;
  readonly connection: LazyConnection;
  readonly projectId: ProjectId;
}

function call(daemon: ProjectDaemon, kind: Kind, verb: ControlVerb, options: { signal: AbortSignal; onStatus: (message: string) => void }, context: VerbContext): Promise<{ affected: string[] }> {
  const { environment } = context;
  const selection = projectSelection(context.projectId);
  const prompting = { ...options, ...(environment.prompter === undefined ? {} : { prompter: environment.prompter }) };
  if (kind === 'forward') {
    if (verb === 'flush' || verb === 'reset') return Promise.resolve({ affected: [] });
    return daemon.call(`forward.${verb}`, { selection }, verb === 'resume' ? prompting : options);
  }
  if (verb === 'flush') return daemon.call('sync.flush', { selection, skipWait: context.options.skipWait === true }, options);
  return daemon.call(`sync.${verb}`, { selection }, verb === 'resume' || verb === 'reset' ? prompting : options);
}

/** One task that applies `verb` to every session of `kind` labelled with the project. */
function controlTask(kind: Kind, verb: ControlVerb, context: VerbContext): SessionTask {
  return {
    title: `${verb} ${NOUNS[kind]} sessions`,
    detail: `sessions labelled io.mutagen.project=${context.projectId}`,
    run: async (status, signal) => {
      const daemon = await context.connection.get();
      try {
        const { affected } = await call(daemon, kind, verb, { signal, onStatus: status }, context);
        return { kind: 'done', note: plural(affected.length) };
      } catch (error) {
        throw wrapError(`unable to ${verb} ${NOUNS[kind]} sessions`, error);
      }
    },
  };
}

function hookStep(project: DesiredProject | undefined, phase: HookPhase, detail: string): Step[] {
  const commands = project?.hooks[phase] ?? [];
  return commands.length === 0 ? [] : [{ kind: 'hook', title: `hook ${phase}`, detail, phase, commands }];
}

interface VerbDefinition {
  readonly verb: ControlVerb;
  /** The hook phases around the daemon calls; when set, the project file is loaded first. */
  readonly hooks: readonly [HookPhase, HookPhase] | undefined;
  readonly kinds: readonly Kind[];
}

const VERBS: Readonly<Record<ControlVerb, VerbDefinition>> = {
  pause: { verb: 'pause', hooks: ['beforePause', 'afterPause'], kinds: ['forward', 'sync'] },
  resume: { verb: 'resume', hooks: ['beforeResume', 'afterResume'], kinds: ['forward', 'sync'] },
  terminate: { verb: 'terminate', hooks: ['beforeTerminate', 'afterTerminate'], kinds: ['forward', 'sync'] },
  flush: { verb: 'flush', hooks: undefined, kinds: ['sync'] },
  reset: { verb: 'reset', hooks: undefined, kinds: ['sync'] },
};

export interface VerbOutcome {
  readonly file: string;
  readonly projectId: ProjectId;
  readonly result: RunResult;
}

/**
 * `project pause | resume | flush | reset | terminate` (cli spec §7.7): lock check (`project not
 * running`) → load the file when the verb has hooks (an invalid file blocks it) → before-hook →
 * connect → forward sessions → sync sessions → after-hook; `terminate` then deletes the lock
 * file, only when everything succeeded. Sessions are selected by the project label. Returns the
 * run's result (failures included); throws for lock, file and connection problems.
 */
export async function controlProject(environment: ProjectEnvironment, verb: ControlVerb, options: ControlOptions = {}): Promise<VerbOutcome> {
  const definition = VERBS[verb];
  return withRunningProject(environment, async ({ file, lock, projectId }) => {
    const project = definition.hooks === undefined ? undefined : loadProjectFile(file, environment);
    const connection = new LazyConnection(environment.connect);
    const context: VerbContext = { environment, options, connection, projectId };
    try {
      const [before, after] = definition.hooks ?? ['beforeCreate', 'afterCreate'];
      const steps: Step[] = [
        ...(definition.hooks === undefined ? [] : hookStep(project, before, `project ${verb}`)),
        ...definition.kinds.map((kind): Step => ({ kind: 'sessions', title: `${NOUNS[kind]} sessions`, tasks: [controlTask(kind, verb, context)] })),
        ...(definition.hooks === undefined ? [] : hookStep(project, after, `project ${verb}`)),
      ];
      const result = await runSteps(steps, {
        sink: environment.sink,
        signal: environment.signal,
        concurrency: DEFAULT_CONCURRENCY,
        hooks: { cwd: project?.directory ?? environment.cwd, env: environment.env, io: environment.hookIo },
      });
      if (verb === 'terminate' && result.failures.length === 0 && !result.cancelled) await lock.remove();
      return { file, projectId, result };
    } finally {
      await connection.close();
    }
  });
}

/** `project list`: lock check → connect → the project's sessions (cli spec §7.7). */
export function listProject(environment: ProjectEnvironment): Promise<ProjectSessions> {
  return withRunningProject(environment, async ({ projectId }) => {
    const connection = await environment.connect();
    try {
      return await observeProject(connection, projectId, environment.signal);
    } finally {
      connection.close();
    }
  });
}

/**
 * `project run <name>` (cli spec §7.7): lock check → load the file → `commands.<name>` (else
 * `unable to find command: '<name>'`) → run it with /bin/sh -c in the project folder with
 * `environment.hookIo`. Resolves with how the command ended.
 */
export function runProjectCommand(environment: ProjectEnvironment, name: string): Promise<CommandExit> {
  return withRunningProject(environment, async ({ file }) => {
    const project = loadProjectFile(file, environment);
    const command = Object.hasOwn(project.commands, name) ? project.commands[name] : undefined;
    if (command === undefined) {
      const known = Object.keys(project.commands);
      throw new MutagenError('MUTAGEN_NOT_FOUND', `unable to find command: '${name}'`, {
        hint: known.length === 0 ? 'The project file defines no commands; add them under "commands:".' : `Defined commands: ${known.join(', ')}.`,
      });
    }
    return runShellCommand(command, { cwd: project.directory, env: environment.env, io: environment.hookIo, signal: environment.signal });
  });
}
