import { Worker } from 'node:worker_threads';

export interface ScriptWorkerHandlers<M> {
  readonly onMessage: (message: M) => void;
  /** The thread failed or exited: called for each 'error' and for 'exit' (callers ignore repeats). */
  readonly onLost: (error: Error) => void;
}

/**
 * Starts a helper thread from a classic script (`eval` workers cannot import modules), without
 * stdio and unref'd (it never keeps the process alive), and wires its events. Throws when the
 * thread cannot start (a process, thread or memory limit).
 */
export function startScriptWorker<M>(source: string, name: string, handlers: ScriptWorkerHandlers<M>): Worker {
  const worker = new Worker(source, { eval: true, stdout: false, stderr: false });
  worker.unref();
  worker.on('message', handlers.onMessage);
  worker.on('error', handlers.onLost);
  worker.on('exit', (code) => handlers.onLost(new Error(`${name} exited with code ${code}`)));
  return worker;
}
