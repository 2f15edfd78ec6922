/**
 * Child processes for the benches: run to completion with wall time and capped output, or
 * start long-lived ones that the caller stops by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { secondsSince } from './report.js';

const OUTPUT_CAP = 4 * 1024 * 1024;

export interface RunResult {
  readonly argv: readonly string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time from spawn to exit. */
  readonly seconds: number;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly signal: AbortSignal;
}

/** Runs argv to completion (never throws for a non-zero exit; see `check`). */
export function run(argv: readonly string[], options: RunOptions): Promise<RunResult> {
  const [command, ...args] = argv;
  if (command === undefined) return Promise.reject(new Error('empty command'));
  options.signal.throwIfAborted();
  const start = process.hrtime.bigint();
  const child = spawn(command, args, {
    env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal, killSignal: 'SIGKILL',
  });
  const stdout = capture(child.stdout);
  const stderr = capture(child.stderr);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      resolve({ argv, code, signal, stdout: stdout(), stderr: stderr(), seconds: secondsSince(start) });
    });
  });
}

/** Throws (with the output tail) unless the command exited 0. */
export function check(result: RunResult): RunResult {
  if (result.code === 0) return result;
  const tail = `${result.stderr}${result.stdout}`.trim().slice(-2000);
  throw new Error(`${result.argv.join(' ')} exited ${String(result.code ?? result.signal)}: ${tail}`);
}

function capture(stream: NodeJS.ReadableStream | null): () => string {
  const chunks: Buffer[] = [];
  let size = 0;
  stream?.on('data', (chunk: Buffer) => {
    if (size >= OUTPUT_CAP) return;
    chunks.push(chunk);
    size += chunk.length;
  });
  return () => Buffer.concat(chunks).toString('utf8');
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends a signal by pid, ignoring a process that is already gone. */
export function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the pid is gone. */
export async function stopPid(pid: number, graceMs = 5000): Promise<void> {
  killPid(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await delay(20);
  if (alive(pid)) killPid(pid, 'SIGKILL');
  while (alive(pid)) await delay(20);
}

/** Resident set size of a process in KiB (VmRSS from /proc), undefined when it is gone. */
export async function rssKiB(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const match = status?.match(/^VmRSS:\s+(\d+)\s+kB$/m);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** Starts a long-lived child; the caller stops it with stopPid(child.pid). */
export function start(argv: readonly string[], options: Omit<RunOptions, 'signal'>): ChildProcess & { readonly pid: number } {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('empty command');
  const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'ignore', 'inherit'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`unable to start ${command}`);
  return Object.assign(child, { pid });
}

/** Pids of processes whose command line contains `needle` (from /proc; this process excluded). */
export async function pidsMatching(needle: string): Promise<number[]> {
  const entries = await readdir('/proc').catch(() => []);
  const pids: number[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isSafeInteger(pid) || pid === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.replaceAll('\0', ' ').includes(needle)) pids.push(pid);
  }
  return pids;
}

/** Median of `samples` RSS readings `intervalMs` apart, summed over the pids (MiB). */
export async function sampleRssMiB(pids: readonly number[], samples = 5, intervalMs = 200): Promise<number | undefined> {
  const readings: number[] = [];
  for (let index = 0; index < samples; index++) {
    if (index > 0) await delay(intervalMs);
    const values = await Promise.all(pids.map((pid) => rssKiB(pid)));
    const present = values.filter((value): value is number => value !== undefined);
    if (present.length > 0) readings.push(present.reduce((sum, value) => sum + value, 0) / 1024);
  }
  readings.sort((a, b) => a - b);
  return readings[Math.floor(readings.length / 2)];
}
