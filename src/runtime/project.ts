import { MutagenError } from '../base/errors.js';
import { findProjectFile, loadProject } from '../config/load.js';
import type { DesiredProject } from '../config/project.js';
import type { ProjectId } from '../planner/observed.js';
import type { ProjectDaemon, RuntimePrompter } from './daemon-api.js';
import type { CommandIo } from './hooks.js';
import { acquireProjectLock } from './lock.js';
import type { ProjectLock } from './lock.js';
import type { ProgressSink } from './progress.js';

/** A daemon connection the runtime may close when its command is done. */
export interface ProjectConnection extends ProjectDaemon {
  close(): void;
}

/**
 * What every project verb runs with. The CLI builds it: `connect` autostarts the daemon,
 * `sink` renders progress, `hookIo` says where hook output goes.
 */
export interface ProjectEnvironment {
  /** The folder the command runs in; `-f` is resolved against it. */
  readonly cwd: string;
  /** `-f/--project-file`, if given. */
  readonly projectFile: string | undefined;
  readonly home: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  /** Opens a daemon connection (called at most once per verb, and only when needed). */
  readonly connect: () => Promise<ProjectConnection>;
  readonly prompter?: RuntimePrompter;
  readonly sink: ProgressSink;
  /** Where hook and `run` commands read and write: the CLI's stdio (`inherit`), or a pipe (tests). */
  readonly hookIo: CommandIo;
  /** Status while waiting for another project command to release the lock. */
  readonly onWait?: (message: string) => void;
  /** Reported once: problems that do not stop the command (both mutagen.yml and mutagen.yaml, …). */
  readonly onWarning?: (message: string) => void;
  /** false = `--no-global-configuration`. */
  readonly globalConfiguration?: boolean;
}

/** The project file chosen by `-f` or discovery (cli spec §7.1), warnings reported. */
export function resolveProjectFile(environment: ProjectEnvironment): string {
  const { file, warnings } = findProjectFile(environment.cwd, environment.projectFile);
  for (const warning of warnings) environment.onWarning?.(warning);
  return file;
}

/** Loads and validates the project file as `start` would (cli spec §7.2–7.4); throws ConfigErrors. */
export function loadProjectFile(file: string, environment: ProjectEnvironment): DesiredProject {
  return loadProject(file, { home: environment.home, env: environment.env, globalConfiguration: environment.globalConfiguration !== false });
}

export function notRunningError(file: string): MutagenError {
  return new MutagenError('MUTAGEN_PROJECT', 'project not running', {
    hint: `No project is running from ${file}; start it with "mutagen project start".`,
  });
}

/**
 * Runs `body` under the project lock of a project that must be running (cli spec §7.5): an empty
 * or absent lock is `project not running` (the lock file is removed again), checked before the
 * project file is read. The lock is released however `body` ends.
 */
export async function withRunningProject<T>(
  environment: ProjectEnvironment,
  body: (context: { readonly file: string; readonly lock: ProjectLock; readonly projectId: ProjectId }) => Promise<T>,
): Promise<T> {
  const file = resolveProjectFile(environment);
  const lock = await acquireProjectLock(file, { signal: environment.signal, ...(environment.onWait === undefined ? {} : { onWait: environment.onWait }) });
  try {
    const projectId = lock.projectId;
    if (projectId === undefined) {
      await lock.remove();
      throw notRunningError(file);
    }
    return await body({ file, lock, projectId });
  } finally {
    await lock.release();
  }
}

/**
 * One daemon connection for a verb, opened on first use (so hooks that run before the daemon is
 * contacted do so, cli spec §7.7) and closed by `close()`.
 */
export class LazyConnection {
  private connection: Promise<ProjectConnection> | undefined;

  constructor(private readonly connect: () => Promise<ProjectConnection>) {}

  get(): Promise<ProjectConnection> {
    this.connection ??= this.connect();
    return this.connection;
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (connection === undefined) return;
    try {
      (await connection).close();
    } catch {
      // It never connected: nothing to close.
    }
  }
}
