import { Worker } from 'node:worker_threads';

export interface ScriptWorkerHandlers<M> {
  readonly onMessage: (message: M) => void;
  /** The thread failed or exited: called for each 'error' and for 'exit' (callers ignore repeats). */
  readonly onLost: (error: Error) => void;
}

/**
 * Helper threads handle small messages and keep their buffers: a small young generation (V8's
 * default lets each thread's grow to 48 MiB) keeps their garbage from adding to the process's
 * resident memory.
 */
const HELPER_LIMITS = { maxYoungGenerationSizeMb: 4 };

/**
 * Starts a helper thread from a classic script (`eval` workers cannot import modules), without
 * stdio and unref'd (it never keeps the process alive), and wires its events. Throws when the
 * thread cannot start (a process, thread or memory limit).
 */
export function startScriptWorker<M>(source: string, name: string, handlers: ScriptWorkerHandlers<M>): Worker {
  const worker = new Worker(source, { eval: true, stdout: false, stderr: false, resourceLimits: HELPER_LIMITS });
  worker.unref();
  worker.on('message', handlers.onMessage);
  worker.on('error', handlers.onLost);
  worker.on('exit', (code) => handlers.onLost(new Error(`${name} exited with code ${code}`)));
  return worker;
}
