import { Listr } from 'listr2';
import type { ListrTask } from 'listr2';
import type { ProgressEvent, StepInfo, TaskResult } from '../../runtime/progress.js';
import { neutralize, type Output } from './output.js';
import type { ProgressRenderer } from './plain.js';

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((done) => { resolve = done; });
  return { promise, resolve };
}

interface TaskEnd {
  readonly result: TaskResult;
  readonly message: string | undefined;
}

/** The listr2 side of one runtime task: the runtime's events resolve these. */
interface Mirror {
  readonly started: Deferred<void>;
  readonly ended: Deferred<TaskEnd>;
  status: (message: string) => void;
}

/** One listr2 list per sessions step; its tasks follow the runtime's events, they do no work. */
class StepList {
  private readonly mirrors = new Map<number, Mirror>();
  private readonly running: Promise<unknown>;

  constructor(step: StepInfo, concurrency: number) {
    const tasks: ListrTask[] = step.tasks.map((info) => {
      const mirror: Mirror = { started: deferred(), ended: deferred(), status: () => undefined };
      this.mirrors.set(info.id, mirror);
      const title = neutralize(info.detail === '' ? info.title : `${info.title} (${info.detail})`);
      return {
        title,
        task: async (_context, task): Promise<void> => {
          await mirror.started.promise;
          mirror.status = (message) => { task.output = neutralize(message); };
          const end = await mirror.ended.promise;
          const message = neutralize(end.message ?? '');
          if (end.result === 'skipped') task.skip(`${neutralize(info.title)}: ${message}`);
          else if (end.result === 'failed') throw new Error(message === '' ? 'failed' : message);
          else task.title = message === '' ? neutralize(info.title) : `${neutralize(info.title)}: ${message}`;
        },
      };
    });
    const list = new Listr(tasks, {
      concurrent: Math.max(1, concurrency),
      exitOnError: false,
      registerSignalListeners: false,
      rendererOptions: { collapseSubtasks: false, collapseErrors: false, showErrorMessage: true },
    });
    this.running = list.run().catch(() => undefined);
  }

  event(event: ProgressEvent): void {
    if (event.kind !== 'task-start' && event.kind !== 'task-status' && event.kind !== 'task-end') return;
    const mirror = this.mirrors.get(event.task.id);
    if (mirror === undefined) return;
    if (event.kind === 'task-start') mirror.started.resolve();
    else if (event.kind === 'task-status') mirror.status(event.message);
    else {
      mirror.started.resolve();
      mirror.ended.resolve({ result: event.result, message: event.message });
    }
  }

  /** Tasks the runtime never started are shown as skipped; waits until listr2 has drawn the end. */
  async finish(): Promise<void> {
    for (const mirror of this.mirrors.values()) {
      mirror.started.resolve();
      mirror.ended.resolve({ result: 'skipped', message: 'not run' });
    }
    await this.running;
  }
}

/**
 * Interactive progress on a TTY: each sessions step is a listr2 task list (concurrent, with the
 * daemon's status lines under each task); hook steps print `> command` and let the hook use the
 * terminal directly (inherited stdio), between two lists.
 */
export function listrProgress(output: Output, concurrency: number): ProgressRenderer {
  let current: StepList | undefined;
  return {
    sink: async (event) => {
      switch (event.kind) {
        case 'step-start':
          output.clearStatus();
          if (event.step.kind === 'sessions') current = new StepList(event.step, concurrency);
          return;
        case 'step-end':
          await current?.finish();
          current = undefined;
          return;
        case 'hook-command':
          output.line(`> ${neutralize(event.command)}`);
          return;
        default:
          current?.event(event);
      }
    },
  };
}
