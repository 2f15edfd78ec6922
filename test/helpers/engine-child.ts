/**
 * Engine scenarios that must run in their own process: `node --import tsx engine-child.ts
 * <command> '<json arguments>'`. Output is one JSON object per stdout line.
 *
 * - `stage {alpha, beta, data, stageMode?}`: opens a manager on `data`, creates a no-watch session
 *   alpha → beta (two-way-safe), requests a flush without waiting, then reports every state change
 *   as `{"event":"state","id","status","received"}` until it is killed (the kill -9 test).
 * - `unreadable-root {alpha, beta, data}`: synchronizes, makes alpha unreadable, flushes, restores,
 *   resumes; reports what the engine said at each step (run as an unprivileged user).
 */
import { chmod } from 'node:fs/promises';
import { MutagenError } from '../../src/base/errors.js';
import type { StageMode } from '../../src/model/configuration.js';
import type { SyncManager } from '../../src/sync/manager.js';
import { describeState, localSpec, openManager, sessionState, waitForState } from './engine.js';
import { readTree } from './tree.js';

interface Arguments {
  readonly alpha: string;
  readonly beta: string;
  readonly data: string;
  readonly stageMode?: StageMode;
}

function emit(value: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

async function stage(args: Arguments): Promise<void> {
  const { manager } = await openManager(args.data);
  const spec = localSpec(args.alpha, args.beta, { watchMode: 'no-watch', ...(args.stageMode === undefined ? {} : { stageMode: args.stageMode }) });
  const id = await manager.create(spec, { paused: false }, AbortSignal.timeout(30_000));
  emit({ event: 'created', id });
  await manager.flush({ specifications: [id] }, true, AbortSignal.timeout(30_000));
  let since: number | undefined;
  for (;;) {
    const { stateIndex, sessions } = await manager.list({ specifications: [id] }, since, AbortSignal.timeout(600_000));
    since = stateIndex;
    const state = sessions[0];
    if (state === undefined) continue;
    emit({ event: 'state', id, status: state.status, received: state.beta.stagingProgress?.totalReceivedSize ?? 0 });
  }
}

async function codeOf(operation: Promise<unknown>): Promise<string> {
  try {
    await operation;
    return 'ok';
  } catch (error) {
    return error instanceof MutagenError ? error.code : String(error);
  }
}

async function unreadableRoot(args: Arguments): Promise<void> {
  const { manager } = await openManager(args.data);
  try {
    await unreadableRootWith(manager, args);
  } finally {
    await manager.close();
  }
}

async function unreadableRootWith(manager: SyncManager, args: Arguments): Promise<void> {
  const id = await manager.create(localSpec(args.alpha, args.beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(30_000));
  const selection = { specifications: [id] };
  await manager.flush(selection, false, AbortSignal.timeout(30_000));
  emit({ event: 'synced', beta: await readTree(args.beta) });
  await chmod(args.alpha, 0o000);
  const flush = await codeOf(manager.flush(selection, false, AbortSignal.timeout(30_000)));
  const failed = await waitForState(manager, id, (s) => s.lastError !== undefined, 30_000);
  emit({ event: 'unreadable', flush, lastError: failed.lastError, status: failed.status, beta: await readTree(args.beta) });
  await chmod(args.alpha, 0o755);
  await manager.resume(selection, {}, AbortSignal.timeout(30_000));
  const again = await codeOf(manager.flush(selection, false, AbortSignal.timeout(30_000)));
  const state = await sessionState(manager, id);
  emit({ event: 'restored', flush: again, state: describeState(state), lastError: state.lastError ?? null, beta: await readTree(args.beta) });
}

async function main(): Promise<void> {
  const [command, json] = process.argv.slice(2);
  const args = JSON.parse(json ?? '{}') as Arguments;
  if (command === 'stage') await stage(args);
  else if (command === 'unreadable-root') await unreadableRoot(args);
  else throw new Error(`unknown command ${command ?? ''}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
});
