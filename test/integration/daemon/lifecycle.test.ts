import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { connectDaemon, DaemonClient, stopDaemon } from '../../../src/daemon/client.js';
import { acquireLock, lockOwner } from '../../../src/daemon/lock.js';
import { daemonPaths, resolveDataDirectory } from '../../../src/daemon/paths.js';
import { VERSION } from '../../../src/daemon/rpc.js';
import { startTestDaemon, type TestDaemon } from '../../helpers/daemon.js';
import { eventually } from '../../helpers/eventually.js';
import { fakeDaemonCommand, useProcesses, type Spawned } from '../../helpers/processes.js';
import { useTempDirectories } from '../../helpers/temp.js';

const tempDirectory = useTempDirectories();
const processes = useProcesses();
const signal = new AbortController().signal;

async function deadPid(): Promise<number> {
  const child = processes.spawn([process.execPath, '-e', '']);
  await child.exited;
  return child.pid;
}

async function startFakeDaemon(dataDirectory: string, version?: string): Promise<Spawned> {
  const daemon = processes.spawn(fakeDaemonCommand(dataDirectory, version));
  await eventually(() => expect(daemon.output().stdout).toContain('ready'), { timeoutMs: 60_000 });
  return daemon;
}

describe('data directory', () => {
  it('comes from MUTAGEN_DATA_DIRECTORY (absolute, non-empty) or ~/.mutagen-ts', () => {
    expect(resolveDataDirectory({ MUTAGEN_DATA_DIRECTORY: '/srv/data/' }, '/home/u')).toBe('/srv/data/');
    expect(resolveDataDirectory({}, '/home/u')).toBe('/home/u/.mutagen-ts');
    expect(() => resolveDataDirectory({ MUTAGEN_DATA_DIRECTORY: '' }, '/home/u')).toThrow('provided data directory path is empty');
    expect(() => resolveDataDirectory({ MUTAGEN_DATA_DIRECTORY: 'rel/dir' }, '/home/u')).toThrow('provided data directory path is not absolute');
    expect(daemonPaths('/d')).toEqual({
      dataDirectory: '/d', daemonDirectory: '/d/daemon', lock: '/d/daemon/daemon.lock', socket: '/d/daemon/daemon.sock', log: '/d/daemon/daemon.log',
    });
  });
});

describe('daemon lock', () => {
  it('is exclusive and released only by its holder', async () => {
    const directory = await tempDirectory();
    const file = `${directory}/daemon.lock`;
    const held = await acquireLock(file);
    await expect(acquireLock(file)).rejects.toThrow(`unable to acquire daemon lock: held by process ${process.pid}`);
    expect(await lockOwner(file)).toMatchObject({ pid: process.pid });
    await held.release();
    expect(existsSync(file)).toBe(false);
    expect(await lockOwner(file)).toBeUndefined();
    const again = await acquireLock(file);
    await again.release();
  });

  it('takes over a lock left by a dead process or holding garbage', async () => {
    const directory = await tempDirectory();
    const file = `${directory}/daemon.lock`;
    await writeFile(file, `${await deadPid()}\n`);
    const first = await acquireLock(file);
    expect((await readFile(file, 'utf8')).split('\n')[0]).toBe(String(process.pid));
    await first.release();
    await writeFile(file, 'garbage');
    const second = await acquireLock(file);
    await second.release();
  });

  it('refuses a second daemon process and lets a successor take over after kill -9', async () => {
    const dataDirectory = await tempDirectory();
    const paths = daemonPaths(dataDirectory);
    const first = await startFakeDaemon(dataDirectory);
    const second = await processes.run(fakeDaemonCommand(dataDirectory));
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('unable to acquire daemon lock');

    first.child.kill('SIGKILL');
    await first.exited;
    expect(existsSync(paths.socket)).toBe(true);
    const successor = await startFakeDaemon(dataDirectory);
    const client = await DaemonClient.dial(paths.socket, signal);
    expect(await client.call('daemon.version', {}, { signal })).toMatchObject({ pid: successor.pid });
    client.close();
  });
});

describe('connecting to the daemon', () => {
  it('fails with "is the daemon running" when none runs and autostart is off', async () => {
    const paths = daemonPaths(await tempDirectory());
    const statuses: string[] = [];
    const failure = await connectDaemon({
      paths, autostart: false, checkVersion: true, startDaemon: () => statuses.push('started'), status: (m) => statuses.push(m), signal,
    }).catch((e: unknown) => e);
    expect(failure).toMatchObject({
      code: 'MUTAGEN_DAEMON_UNREACHABLE', message: 'unable to connect to daemon: connection timed out (is the daemon running?)',
    });
    expect(statuses).toEqual([]);
  });

  it('autostarts a daemon and reports it', async () => {
    const dataDirectory = await tempDirectory();
    const paths = daemonPaths(dataDirectory);
    const statuses: string[] = [];
    let started: Promise<TestDaemon> | undefined;
    const client = await connectDaemon({
      paths, autostart: true, checkVersion: true, signal,
      startDaemon: () => { started = startTestDaemon(dataDirectory); },
      status: (m) => statuses.push(m),
    });
    expect(statuses).toEqual(['Attempting to start Mutagen daemon...', 'Started Mutagen daemon in background (terminate with "mutagen daemon stop")']);
    expect(await client.call('daemon.version', {}, { signal })).toEqual({ version: VERSION, pid: process.pid });
    const daemon = await started;
    void daemon?.daemon.terminateRequested.then(() => daemon.close());
    await stopDaemon(client, paths, signal);
    expect(await lockOwner(paths.lock)).toBeUndefined();
    expect(daemon?.service.closed).toBe(true);
  });

  it('reports a version mismatch without autostart, and restarts the daemon with it', async () => {
    const dataDirectory = await tempDirectory();
    const old = await startTestDaemon(dataDirectory, { version: '0.0.1-old' });
    void old.daemon.terminateRequested.then(() => old.close());
    const common = { paths: old.paths, checkVersion: true, signal, status: (): void => undefined };
    const refused = await connectDaemon({ ...common, autostart: false, startDaemon: () => undefined }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'MUTAGEN_VERSION_MISMATCH', message: expect.stringContaining('client/daemon version mismatch') as string });

    let replacement: Promise<TestDaemon> | undefined;
    const client = await connectDaemon({ ...common, autostart: true, startDaemon: () => { replacement = startTestDaemon(dataDirectory); } });
    expect(await client.call('daemon.version', {}, { signal })).toMatchObject({ version: VERSION });
    expect(old.service.closed).toBe(true);
    client.close();
    await (await replacement)?.close();
  });

  it('stops a running daemon and waits until it released the lock', async () => {
    const dataDirectory = await tempDirectory();
    const paths = daemonPaths(dataDirectory);
    await mkdir(paths.daemonDirectory, { recursive: true });
    const daemon = await startFakeDaemon(dataDirectory);
    const client = await DaemonClient.dial(paths.socket, signal);
    await stopDaemon(client, paths, signal);
    expect(await lockOwner(paths.lock)).toBeUndefined();
    expect(existsSync(paths.socket)).toBe(false);
    await expect(daemon.exited).resolves.toMatchObject({ code: 0 });
  });
});
