import { existsSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { CLI_PATH, useProcesses, type ProcessResult } from '../helpers/processes.js';
import { useTempDirectories } from '../helpers/temp.js';

// The daemon lifecycle of the built CLI: start/stop/run, the lock, autostart and recovery from
// a killed daemon.

const tempDirectory = useTempDirectories();
const processes = useProcesses();
let home: string;
let data: string;
let env: Record<string, string>;

beforeEach(async () => {
  home = await tempDirectory();
  data = path.join(home, 'data');
  env = { HOME: home, MUTAGEN_DATA_DIRECTORY: data };
  processes.watchDataDirectory(data);
});

function mutagen(...args: string[]): Promise<ProcessResult> {
  return processes.cli(args, { cwd: home, env });
}

async function daemonPid(): Promise<number> {
  return Number((await readFile(path.join(data, 'daemon/daemon.lock'), 'utf8')).split('\n')[0]);
}

/** Whether `pid` runs (a zombie waiting to be reaped by init counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

describe('daemon lifecycle', () => {
  it('starts idempotently, refuses a second daemon, and stops', async () => {
    expect(await mutagen('daemon', 'start')).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const pid = await daemonPid();
    expect(await mutagen('daemon', 'start')).toMatchObject({ code: 0 });
    expect(await daemonPid()).toBe(pid);
    expect((await stat(path.join(data, 'daemon/daemon.sock'))).mode & 0o777).toBe(0o600);
    expect((await stat(data)).mode & 0o777).toBe(0o700);

    const second = await mutagen('daemon', 'run');
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('Error: unable to acquire daemon lock');

    expect(await mutagen('daemon', 'stop')).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(existsSync(path.join(data, 'daemon/daemon.sock'))).toBe(false);
    await eventually(() => expect(alive(pid)).toBe(false));
    const again = await mutagen('daemon', 'stop');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is the daemon running');
  });

  it('autostarts on first use and recovers after the daemon is killed with SIGKILL', async () => {
    const first = await mutagen('sync', 'list', '--json');
    expect(first).toMatchObject({ code: 0, stdout: '[]\n' });
    expect(first.stderr).toBe('Attempting to start Mutagen daemon...\nStarted Mutagen daemon in background (terminate with "mutagen daemon stop")\n');
    const pid = await daemonPid();
    process.kill(pid, 'SIGKILL');
    await eventually(() => expect(alive(pid)).toBe(false));
    expect(existsSync(path.join(data, 'daemon/daemon.sock'))).toBe(true);

    const recovered = await mutagen('sync', 'list', '--json');
    expect(recovered).toMatchObject({ code: 0, stdout: '[]\n' });
    expect(recovered.stderr).toContain('Started Mutagen daemon in background');
    expect(await daemonPid()).not.toBe(pid);
    expect(await readFile(path.join(data, 'daemon/daemon.log'), 'utf8')).toContain('daemon started');
  });

  it('runs in the foreground: exit 0 on a terminate request, 1 on SIGTERM', async () => {
    const foreground = processes.spawn([process.execPath, CLI_PATH, 'daemon', 'run'], { env: { ...env, MUTAGEN_LOG_LEVEL: 'debug' } });
    await eventually(() => expect(foreground.output().stderr).toContain('daemon started'));
    expect(await mutagen('daemon', 'stop')).toMatchObject({ code: 0 });
    expect(await foreground.exited).toMatchObject({ code: 0 });

    const signalled = processes.spawn([process.execPath, CLI_PATH, 'daemon', 'run'], { env });
    await eventually(() => expect(signalled.output().stderr).toContain('daemon started'));
    signalled.child.kill('SIGTERM');
    const result = await signalled.exited;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Error: terminated by signal: SIGTERM');
  });

  it('refuses an unknown log level', async () => {
    const result = await processes.cli(['daemon', 'run'], { env: { ...env, MUTAGEN_LOG_LEVEL: 'loud' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Error: invalid log level: unknown log level: loud');
  });
});
