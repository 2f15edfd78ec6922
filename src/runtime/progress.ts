import { isAbortError } from '../base/errors.js';
import type { HookPhase } from '../config/project.js';
import { runHook } from './hooks.js';
import type { CommandIo } from './hooks.js';

/** One unit of work shown to the user: a hook phase, or one session's action(s). */
export interface TaskInfo {
  /** Unique within one run. */
  readonly id: number;
  /** `create sync:code`, `hook beforeCreate`. */
  readonly title: string;
  /** Why (the planner's reason), shown beside the title. */
  readonly detail: string;
}

/** A group of tasks that run together: a hook phase (one task), or sessions run concurrently. */
export interface StepInfo {
  readonly index: number;
  readonly kind: 'hook' | 'sessions';
  readonly title: string;
  readonly tasks: readonly TaskInfo[];
}

export type TaskResult = 'done' | 'skipped' | 'failed';

/**
 * What a run reports, in order. The runtime never draws: the CLI renders these as listr2 tasks
 * on a TTY or as plain lines elsewhere. Steps start and end in order; within a sessions step,
 * tasks interleave (they run concurrently). `hook-command` comes right before the command runs
 * (its output then goes where `hooks.io` says); `task-status` carries the daemon's status lines.
 */
export type ProgressEvent =
  | { readonly kind: 'step-start'; readonly step: StepInfo }
  | { readonly kind: 'hook-command'; readonly step: StepInfo; readonly command: string }
  | { readonly kind: 'task-start'; readonly step: StepInfo; readonly task: TaskInfo }
  | { readonly kind: 'task-status'; readonly step: StepInfo; readonly task: TaskInfo; readonly message: string }
  | { readonly kind: 'task-end'; readonly step: StepInfo; readonly task: TaskInfo; readonly result: TaskResult; readonly message: string | undefined }
  | { readonly kind: 'step-end'; readonly step: StepInfo; readonly ok: boolean };

/** Receives events; a returned promise is awaited before the run goes on (renderers may block). */
export type ProgressSink = (event: ProgressEvent) => void | Promise<void>;

/** How one task ended when it did not throw: done (with a short note) or skipped (with why). */
export type TaskOutcome = { readonly kind: 'done'; readonly note?: string } | { readonly kind: 'skipped'; readonly reason: string };

export interface SessionTask {
  readonly title: string;
  readonly detail: string;
  /** Does the work; `status` forwards the daemon's status lines. Throws on failure. */
  run(status: (message: string) => void, signal: AbortSignal): Promise<TaskOutcome>;
}

/** Input of `runSteps`: hooks run their commands in order; sessions steps run tasks concurrently. */
export type Step =
  | { readonly kind: 'hook'; readonly title: string; readonly detail: string; readonly phase: HookPhase; readonly commands: readonly string[] }
  | { readonly kind: 'sessions'; readonly title: string; readonly tasks: readonly SessionTask[] };

export interface TaskFailure {
  readonly title: string;
  readonly error: unknown;
}

/** What a run did: done tasks, skipped ones (with why), failures, and tasks never started. */
export interface RunResult {
  readonly done: readonly { readonly title: string; readonly note: string | undefined }[];
  readonly skipped: readonly { readonly title: string; readonly reason: string }[];
  /** Empty on success; the first entry is the failure that stopped the run. */
  readonly failures: readonly TaskFailure[];
  readonly notRun: readonly string[];
  /** True when the run stopped because the signal aborted. */
  readonly cancelled: boolean;
}

export interface RunOptions {
  readonly sink: ProgressSink;
  readonly signal: AbortSignal;
  /** Session tasks of one step running at once (at least 1). */
  readonly concurrency: number;
  /** Where hook commands run and where their output goes. */
  readonly hooks: { readonly cwd: string; readonly env: Readonly<Record<string, string | undefined>>; readonly io: CommandIo };
}

/** Independent session actions of one step that run at once (ARCHITECTURE §4.1 step 9). */
export const DEFAULT_CONCURRENCY = 4;

/** Reports an event without waiting for the sink (output and status lines must not block their source). */
function notify(sink: ProgressSink, event: ProgressEvent): void {
  try {
    void Promise.resolve(sink(event)).catch(() => undefined);
  } catch {
    // A renderer failing on one line must not stop the work it reports on.
  }
}

class Run {
  readonly done: { title: string; note: string | undefined }[] = [];
  readonly skipped: { title: string; reason: string }[] = [];
  readonly failures: TaskFailure[] = [];
  readonly notRun: string[] = [];
  private nextTask = 0;

  constructor(private readonly options: RunOptions) {}

  get stopped(): boolean {
    return this.failures.length > 0 || this.options.signal.aborted;
  }

  info(steps: readonly Step[]): StepInfo[] {
    return steps.map((step, index) => {
      const tasks = step.kind === 'hook'
        ? [{ id: this.nextTask++, title: step.title, detail: step.detail }]
        : step.tasks.map((task) => ({ id: this.nextTask++, title: task.title, detail: task.detail }));
      return { index, kind: step.kind, title: step.title, tasks };
    });
  }

  private async fail(info: StepInfo, task: TaskInfo, error: unknown): Promise<void> {
    this.failures.push({ title: task.title, error });
    const message = isAbortError(error) ? 'cancelled' : error instanceof Error ? error.message : String(error);
    await this.options.sink({ kind: 'task-end', step: info, task, result: 'failed', message });
  }

  async hook(step: Extract<Step, { kind: 'hook' }>, info: StepInfo): Promise<void> {
    const task = info.tasks[0];
    if (task === undefined) return;
    const { sink, signal } = this.options;
    await sink({ kind: 'task-start', step: info, task });
    try {
      await runHook(step.phase, step.commands, {
        ...this.options.hooks, signal,
        onCommand: (command) => sink({ kind: 'hook-command', step: info, command }),
      });
    } catch (error) {
      return this.fail(info, task, error);
    }
    this.done.push({ title: task.title, note: undefined });
    await sink({ kind: 'task-end', step: info, task, result: 'done', message: undefined });
  }

  private async task(session: SessionTask, info: StepInfo, task: TaskInfo): Promise<void> {
    const { sink, signal } = this.options;
    await sink({ kind: 'task-start', step: info, task });
    let outcome: TaskOutcome;
    try {
      outcome = await session.run((message) => notify(sink, { kind: 'task-status', step: info, task, message }), signal);
    } catch (error) {
      return this.fail(info, task, error);
    }
    if (outcome.kind === 'skipped') this.skipped.push({ title: task.title, reason: outcome.reason });
    else this.done.push({ title: task.title, note: outcome.note });
    const message = outcome.kind === 'skipped' ? outcome.reason : outcome.note;
    await sink({ kind: 'task-end', step: info, task, result: outcome.kind, message });
  }

  /** A pool of `concurrency` workers; after a failure no new task starts, running ones finish. */
  async sessions(step: Extract<Step, { kind: 'sessions' }>, info: StepInfo): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (!this.stopped && next < step.tasks.length) {
        const index = next++;
        const session = step.tasks[index];
        const task = info.tasks[index];
        if (session !== undefined && task !== undefined) await this.task(session, info, task);
      }
    };
    const workers = Math.max(1, Math.min(this.options.concurrency, step.tasks.length));
    await Promise.all(Array.from({ length: workers }, () => worker()));
    this.notRun.push(...info.tasks.slice(next).map((task) => task.title));
  }
}

/**
 * Runs `steps` in order (ARCHITECTURE §4.1 steps 9–10), reporting every event to `sink`. Stops
 * at the first failure (tasks already running in the same step finish) or when `signal` aborts;
 * never throws for a task's failure: the result lists what was done, skipped, failed and not run.
 */
export async function runSteps(steps: readonly Step[], options: RunOptions): Promise<RunResult> {
  const run = new Run(options);
  const infos = run.info(steps);
  for (const [index, step] of steps.entries()) {
    const info = infos[index];
    if (info === undefined) continue;
    if (run.stopped) {
      run.notRun.push(...info.tasks.map((task) => task.title));
      continue;
    }
    await options.sink({ kind: 'step-start', step: info });
    if (step.kind === 'hook') await run.hook(step, info);
    else await run.sessions(step, info);
    await options.sink({ kind: 'step-end', step: info, ok: !run.stopped });
  }
  return { done: run.done, skipped: run.skipped, failures: run.failures, notRun: run.notRun, cancelled: options.signal.aborted };
}
