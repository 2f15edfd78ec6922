import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { buildAgent } from '../../../scripts/build.js';
import { SyncManager } from '../../../src/sync/manager.js';
import { createWorkspace, testLogger, type Workspace } from '../../helpers/engine.js';
import { makeTempDirectory } from '../../helpers/temp.js';
import { rm } from 'node:fs/promises';

/** A workspace and a manager whose local↔local sessions serve beta from a worker thread. */
export interface WorkerSetup {
  readonly ws: Workspace;
  readonly manager: SyncManager;
  /** Every worker the manager started, in order. */
  readonly workers: Worker[];
}

/** Builds the agent bundle (the worker's entry) once for the test file, into a temp directory. */
export function useWorkerBundle(): () => string {
  let directory: string | undefined;
  let entry: string | undefined;
  beforeAll(async () => {
    directory = await makeTempDirectory('mutagen-worker-bundle-');
    entry = await buildAgent({ outfile: path.join(directory, 'agent.mjs') });
  });
  afterAll(async () => {
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  });
  return () => {
    if (entry === undefined) throw new Error('agent bundle not built');
    return entry;
  };
}

/** Opens a manager with localInWorker on `data`, recording the workers it starts. */
export async function openWorkerManager(data: string, entry: string, workers: Worker[]): Promise<SyncManager> {
  const manager = new SyncManager({
    dataDirectory: data, logger: testLogger(), version: '0.1.0-test',
    localInWorker: { entry, onWorker: (worker) => { workers.push(worker); } },
  });
  await manager.initialize();
  return manager;
}

/** Fresh workspace and worker-backed manager per test; closed afterwards, every worker gone. */
export function useWorkerEngine(bind: (setup: WorkerSetup) => void): void {
  const entry = useWorkerBundle();
  let setup: WorkerSetup | undefined;
  beforeEach(async () => {
    const ws = await createWorkspace('mutagen-worker-');
    const workers: Worker[] = [];
    setup = { ws, workers, manager: await openWorkerManager(ws.data, entry(), workers) };
    bind(setup);
  });
  afterEach(async () => {
    await setup?.manager.close();
    // Closing shuts every endpoint down: no worker thread may outlive its manager.
    for (const worker of setup?.workers ?? []) {
      if (worker.threadId !== -1) throw new Error(`worker thread ${worker.threadId} still running after close`);
    }
    await setup?.ws.dispose();
  });
}
