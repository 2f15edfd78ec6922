import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The built CLI (run `npm run build` first). */
export const CLI_PATH = path.join(root, 'dist/cli.js');

/** argv prefix that runs a TypeScript file of this repository with tsx. */
export function tsxCommand(file: string): string[] {
  return [process.execPath, '--import', import.meta.resolve('tsx'), path.join(root, file)];
}

/** argv that runs the in-memory daemon process (test/helpers/daemon-process.ts). */
export function fakeDaemonCommand(dataDirectory: string, version?: string): string[] {
  return [...tsxCommand('test/helpers/daemon-process.ts'), dataDirectory, ...(version === undefined ? [] : [version])];
}

export interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface SpawnOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly input?: string;
}

export interface Spawned {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Output so far (each stream capped at 1 MiB). */
  output(): { stdout: string; stderr: string };
  readonly exited: Promise<ProcessResult>;
}

const OUTPUT_CAP = 1024 * 1024;

/** A minimal environment: PATH plus what the test passes (never the outer MUTAGEN_* variables). */
function environment(extra: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', NO_COLOR: '1', ...extra };
}

async function daemonPid(dataDirectory: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(path.join(dataDirectory, 'daemon/daemon.lock'), 'utf8')).split('\n')[0]);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * Spawns processes and kills, by pid, everything still running after each test: the children
 * it started and the daemons (found through their lock files) of registered data directories.
 */
export function useProcesses(): {
  spawn(argv: readonly string[], options?: SpawnOptions): Spawned;
  run(argv: readonly string[], options?: SpawnOptions): Promise<ProcessResult>;
  cli(args: readonly string[], options?: SpawnOptions): Promise<ProcessResult>;
  watchDataDirectory(dataDirectory: string): void;
} {
  const children: Spawned[] = [];
  const dataDirectories: string[] = [];
  afterEach(async () => {
    for (const directory of dataDirectories.splice(0)) {
      const pid = await daemonPid(directory);
      if (pid !== undefined) killPid(pid);
    }
    for (const spawned of children.splice(0)) {
      if (spawned.child.exitCode === null && spawned.child.signalCode === null) killPid(spawned.pid);
      await spawned.exited;
    }
  });
  const start = (argv: readonly string[], options: SpawnOptions = {}): Spawned => {
    const [command, ...args] = argv;
    if (command === undefined) throw new Error('empty argv');
    const child = spawn(command, args, { env: environment(options.env), cwd: options.cwd ?? root, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { if (stdout.length < OUTPUT_CAP) stdout += chunk; });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { if (stderr.length < OUTPUT_CAP) stderr += chunk; });
    child.stdin?.end(options.input ?? '');
    const exited = new Promise<ProcessResult>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
    if (child.pid === undefined) throw new Error(`unable to spawn ${command}`);
    const spawned: Spawned = { child, pid: child.pid, output: () => ({ stdout, stderr }), exited };
    children.push(spawned);
    return spawned;
  };
  return {
    spawn: start,
    run: (argv, options) => start(argv, options).exited,
    cli: (args, options) => start([process.execPath, CLI_PATH, ...args], options).exited,
    watchDataDirectory: (directory) => { dataDirectories.push(directory); },
  };
}
