import type { ProgressEvent, ProgressSink, TaskInfo } from '../../runtime/progress.js';
import { neutralize, type Output } from './output.js';

/** Draws a run's progress; `sink` receives the runtime's events. */
export interface ProgressRenderer {
  readonly sink: ProgressSink;
}

function label(task: TaskInfo): string {
  return task.detail === '' ? task.title : `${task.title} (${task.detail})`;
}

/** One line per event, for logs (CI=true) and pipes: `> command` for hooks, `✔`/`↓`/`✖` for ends. */
export function formatProgressLine(event: ProgressEvent): string | undefined {
  switch (event.kind) {
    case 'step-start':
    case 'step-end':
      return undefined;
    case 'hook-command':
      return `> ${event.command}`;
    case 'task-start':
      return `${label(event.task)}...`;
    case 'task-status':
      return `  ${event.task.title}: ${event.message}`;
    case 'task-end':
      if (event.result === 'done') return `✔ ${event.task.title}${event.message === undefined || event.message === '' ? '' : `: ${event.message}`}`;
      if (event.result === 'skipped') return `↓ ${event.task.title}: skipped: ${event.message ?? ''}`;
      return `✖ ${event.task.title}: ${event.message ?? 'failed'}`;
  }
}

/** Progress as plain lines on stdout (cli spec §1: transient lines are not drawn off a TTY). */
export function plainProgress(output: Output): ProgressRenderer {
  return {
    sink: (event) => {
      const line = formatProgressLine(event);
      if (line !== undefined) output.line(neutralize(line));
    },
  };
}
