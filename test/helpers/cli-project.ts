import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';
import type { ProcessResult, useProcesses } from './processes.js';
import { makeTempDirectory } from './temp.js';

export const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface CliProject {
  /** Temp folder holding `home/`, `data/` and the tests' project folders. */
  readonly base: string;
  /** Runs the built CLI in `cwd` with the temp HOME and data directory. */
  readonly mutagen: (cwd: string, ...args: string[]) => Promise<ProcessResult>;
}

/**
 * For e2e project tests: a temp HOME and data directory, a daemon started up front (so no
 * test's stderr carries the autostart lines) and stopped afterwards, and a CLI runner.
 */
export function useCliProject(processes: ReturnType<typeof useProcesses>, prefix: string): CliProject {
  const state = { base: '', home: '', data: '' };
  const env = (): Record<string, string> => ({ HOME: state.home, MUTAGEN_DATA_DIRECTORY: state.data });
  const cli = path.join(repository, 'dist/cli.js');
  beforeAll(async () => {
    state.base = await makeTempDirectory(prefix);
    state.home = path.join(state.base, 'home');
    state.data = path.join(state.base, 'data');
    await mkdir(state.home);
    const started = await processes.run([process.execPath, cli, 'daemon', 'start'], { env: env() });
    expect(started.code, started.stderr).toBe(0);
  });
  afterAll(async () => {
    await processes.run([process.execPath, cli, 'daemon', 'stop'], { env: env() });
    await rm(state.base, { recursive: true, force: true });
  });
  return {
    get base() { return state.base; },
    mutagen: (cwd, ...args) => processes.cli(args, { cwd, env: env() }),
  };
}
