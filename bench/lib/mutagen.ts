/**
 * The built CLI (dist/cli.js) on a private data directory: every call gets the same environment,
 * the daemon is started explicitly (so no figure includes its start-up) and stopped at the end
 * with `mutagen daemon stop`, falling back to its pid (read from the lock file) if it lingers.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { alive, check, run, stopPid, type RunResult } from './proc.js';
import { progress } from './report.js';

export const REPOSITORY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI_PATH = path.join(REPOSITORY_ROOT, 'dist/cli.js');

/** The outer environment minus MUTAGEN_* and DOCKER_* (a bench decides those itself). */
export function cleanEnvironment(extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('MUTAGEN_') && !key.startsWith('DOCKER_')) env[key] = value;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

export class MutagenCli {
  private daemonPid: number | undefined;
  private closed: Promise<void> | undefined;

  private constructor(readonly dataDirectory: string, private readonly cliPath: string, private readonly env: NodeJS.ProcessEnv) {}

  /**
   * A fresh data directory under the temp dir; `extraEnv` (DOCKER_HOST, HOME, …) goes to every
   * call. `cliPath` defaults to this checkout's dist/cli.js (`npm run build`).
   */
  static async create(extraEnv: Readonly<Record<string, string>>, cliPath = CLI_PATH): Promise<MutagenCli> {
    const dataDirectory = await mkdtemp(path.join(os.tmpdir(), 'mtb-data-'));
    return new MutagenCli(dataDirectory, cliPath, cleanEnvironment({ ...extraEnv, MUTAGEN_DATA_DIRECTORY: dataDirectory }));
  }

  /** Runs `mutagen ...args`; the result carries the wall time of the whole CLI process. */
  run(args: readonly string[], signal: AbortSignal): Promise<RunResult> {
    return run([process.execPath, this.cliPath, ...args], { env: this.env, signal });
  }

  /** Like run(), but throws on a non-zero exit. */
  async ok(args: readonly string[], signal: AbortSignal): Promise<RunResult> {
    return check(await this.run(args, signal));
  }

  /** `mutagen daemon start`; returns its wall time and remembers the daemon's pid. */
  async startDaemon(signal: AbortSignal): Promise<{ seconds: number; pid: number }> {
    const result = await this.ok(['daemon', 'start'], signal);
    const pid = await this.readDaemonPid();
    if (pid === undefined) throw new Error(`daemon started but ${this.lockFile()} names no pid`);
    this.daemonPid = pid;
    return { seconds: result.seconds, pid };
  }

  get pid(): number | undefined {
    return this.daemonPid;
  }

  /** Stops the daemon (CLI first, then by pid) and removes the data directory; idempotent. */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    const pid = this.daemonPid ?? (await this.readDaemonPid());
    if (pid !== undefined && alive(pid)) {
      try {
        const stop = await this.run(['daemon', 'stop'], AbortSignal.timeout(30_000));
        if (stop.code !== 0) progress(`mutagen daemon stop exited ${String(stop.code)}: ${stop.stderr.trim()}`);
      } catch (error) {
        progress(`mutagen daemon stop failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      // `daemon stop` may return while the process is still exiting: give it a moment.
      for (const deadline = Date.now() + 10_000; alive(pid) && Date.now() < deadline;) await delay(50);
      if (alive(pid)) {
        progress(`daemon pid ${pid} still running 10 s after daemon stop: stopping it by pid`);
        await stopPid(pid);
      }
    }
    await rm(this.dataDirectory, { recursive: true, force: true });
  }

  private lockFile(): string {
    return path.join(this.dataDirectory, 'daemon/daemon.lock');
  }

  private async readDaemonPid(): Promise<number | undefined> {
    const text = await readFile(this.lockFile(), 'utf8').catch(() => '');
    const pid = Number(text.split('\n')[0]);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  }
}
