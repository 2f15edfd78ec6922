import { once } from 'node:events';
import { link, lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { silentLogger } from '../../../src/base/logger.js';
import type { SocketOptions } from '../../../src/forward/endpoint.js';
import { localDestination } from '../../../src/forward/local/dialer.js';
import type { LocalListener } from '../../../src/forward/local/listener.js';
import { listenLocal } from '../../../src/forward/local/listener.js';
import { useTempDirectories } from '../../helpers/temp.js';
import { defaultSocket, exchange, never, startEcho, startForwarder } from './harness.js';

const temp = useTempDirectories();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(socketPath: string, socket: Partial<SocketOptions> = {}): Promise<LocalListener> {
  const listener = await listenLocal(`unix:${socketPath}`, { socket: { ...defaultSocket, ...socket }, logger: silentLogger }, never);
  cleanups.push(() => listener.shutdown());
  return listener;
}

async function listenError(socketPath: string, socket: Partial<SocketOptions> = {}): Promise<MutagenError> {
  try {
    await listen(socketPath, socket);
  } catch (error) {
    if (error instanceof MutagenError) return error;
    throw error;
  }
  throw new Error(`listening on ${socketPath}`);
}

async function reachable(socketPath: string): Promise<boolean> {
  const socket = net.connect({ path: socketPath });
  try {
    await once(socket, 'connect');
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

async function exists(file: string): Promise<boolean> {
  return lstat(file).then(() => true, () => false);
}

/** The id of a name in /etc/passwd or /etc/group, read the way the listener does. */
async function idOf(file: string, name: string): Promise<number> {
  const line = (await readFile(file, 'utf8')).split('\n').find((entry) => entry.startsWith(`${name}:`));
  const id = Number(line?.split(':')[2]);
  if (!Number.isInteger(id)) throw new Error(`${name} not in ${file}`);
  return id;
}

describe('local Unix socket forwarding', () => {
  it('forwards unix → unix, tcp → unix and unix → tcp', async () => {
    const directory = await temp('mt-fu-');
    const target = path.join(directory, 'target.sock');
    const echo = await startEcho({ path: target });
    cleanups.push(() => echo.close());
    const unixToUnix = await startForwarder(`unix:${path.join(directory, 'a.sock')}`, `unix:${target}`);
    cleanups.push(() => unixToUnix.stop());
    const tcpToUnix = await startForwarder('tcp:127.0.0.1:0', `unix:${target}`);
    cleanups.push(() => tcpToUnix.stop());
    const unixToTcp = await startForwarder(`unix:${path.join(directory, 'b.sock')}`, `${'tcp'}:127.0.0.1:${tcpToUnix.listener.address.kind === 'tcp' ? tcpToUnix.listener.address.port : 0}`);
    cleanups.push(() => unixToTcp.stop());
    expect((await exchange(unixToUnix.connectOptions(), 'one')).toString()).toBe('one');
    expect((await exchange(tcpToUnix.connectOptions(), 'two')).toString()).toBe('two');
    expect((await exchange(unixToTcp.connectOptions(), 'three, through two forwards')).toString()).toBe('three, through two forwards');
    expect(unixToTcp.counters).toMatchObject({ total: 1, outbound: 27, inbound: 27 });
  });

  it('applies the default mode 0600, or the configured one', async () => {
    const directory = await temp('mt-fu-');
    await listen(path.join(directory, 'default.sock'));
    await listen(path.join(directory, 'shared.sock'), { permissionMode: 0o660 });
    const defaults = await stat(path.join(directory, 'default.sock'));
    const shared = await stat(path.join(directory, 'shared.sock'));
    expect(defaults.isSocket()).toBe(true);
    expect(defaults.mode & 0o7777).toBe(0o600);
    expect(shared.mode & 0o7777).toBe(0o660);
  });

  it('sets owner and group by name, id:N and bare number', async () => {
    const directory = await temp('mt-fu-');
    const nobody = await idOf('/etc/passwd', 'nobody');
    const nogroup = await idOf('/etc/group', 'nogroup');
    await listen(path.join(directory, 'named.sock'), { owner: 'nobody', group: 'nogroup' });
    await listen(path.join(directory, 'ids.sock'), { owner: 'id:1234', group: '4321' });
    await listen(path.join(directory, 'group-only.sock'), { group: 'id:77' });
    expect(await stat(path.join(directory, 'named.sock'))).toMatchObject({ uid: nobody, gid: nogroup });
    expect(await stat(path.join(directory, 'ids.sock'))).toMatchObject({ uid: 1234, gid: 4321 });
    expect(await stat(path.join(directory, 'group-only.sock'))).toMatchObject({ uid: process.getuid?.(), gid: 77 });
  });

  it('rejects an unknown owner before binding anything', async () => {
    const directory = await temp('mt-fu-');
    const socketPath = path.join(directory, 'x.sock');
    const error = await listenError(socketPath, { owner: 'no-such-user-here' });
    expect(error.code).toBe('MUTAGEN_INVALID_CONFIGURATION');
    expect(error.message).toBe(`unable to listen on unix:${socketPath}: invalid ownership specification for socket owner: no user named "no-such-user-here" in /etc/passwd`);
    expect(await exists(socketPath)).toBe(false);
  });

  it('refuses an existing file in leave mode, saying how to replace it', async () => {
    const directory = await temp('mt-fu-');
    const socketPath = path.join(directory, 'taken.sock');
    await writeFile(socketPath, 'not a socket');
    const error = await listenError(socketPath);
    expect(error.code).toBe('MUTAGEN_FORWARD_LISTEN');
    expect(error.message).toBe(`unable to listen on unix:${socketPath}: a file already exists at ${socketPath}`);
    expect(error.hint).toMatch(/overwrite mode to "overwrite" \(--socket-overwrite-mode overwrite, or socket\.overwriteMode/);
    expect(await readFile(socketPath, 'utf8')).toBe('not a socket');
    // Nothing is left behind in the directory (no temporary socket name).
    expect(await readdir(directory)).toEqual(['taken.sock']);
  });

  it('refuses a live socket of another listener in leave mode', async () => {
    const directory = await temp('mt-fu-');
    const socketPath = path.join(directory, 'live.sock');
    await listen(socketPath);
    const error = await listenError(socketPath);
    expect(error.message).toBe(`unable to listen on unix:${socketPath}: a file already exists at ${socketPath}`);
    expect(await reachable(socketPath)).toBe(true);
  });

  it.each([
    ['a regular file', (p: string) => writeFile(p, 'x')],
    ['a stale socket (its listener is gone)', async (p: string) => {
      // Bind elsewhere, hard-link the socket to p, close: the socket file at p outlives its listener.
      const server = net.createServer();
      server.listen(`${p}.tmp`);
      await once(server, 'listening');
      await link(`${p}.tmp`, p);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      expect((await lstat(p)).isSocket()).toBe(true);
      expect(await reachable(p)).toBe(false);
    }],
    ['a symlink', (p: string) => symlink('/nonexistent-target', p)],
    ['an empty directory', (p: string) => mkdir(p)],
  ])('replaces %s in overwrite mode', async (_what, create) => {
    const directory = await temp('mt-fu-');
    const socketPath = path.join(directory, 'replace.sock');
    await create(socketPath);
    expect(await exists(socketPath)).toBe(true);
    await listen(socketPath, { overwriteMode: 'overwrite' });
    expect((await lstat(socketPath)).isSocket()).toBe(true);
    expect(await reachable(socketPath)).toBe(true);
  });

  it('does not remove a directory that has contents', async () => {
    const directory = await temp('mt-fu-');
    const socketPath = path.join(directory, 'full');
    await mkdir(socketPath);
    await writeFile(path.join(socketPath, 'keep'), 'x');
    const error = await listenError(socketPath, { overwriteMode: 'overwrite' });
    expect(error.code).toBe('MUTAGEN_FORWARD_LISTEN');
    expect(error.message).toBe(`unable to listen on unix:${socketPath}: unable to remove conflicting socket: ${socketPath} is a directory that is not empty`);
    expect(await readFile(path.join(socketPath, 'keep'), 'utf8')).toBe('x');
  });

  it('overwrites a live socket of another listener, whose shutdown then leaves the new one alone', async () => {
    const directory = await temp('mt-fu-');
    const socketPath = path.join(directory, 'shared.sock');
    const first = await listen(socketPath);
    const second = await listen(socketPath, { overwriteMode: 'overwrite' });
    await first.shutdown();
    expect(await reachable(socketPath)).toBe(true);
    const client = net.connect({ path: socketPath });
    const accepted = await second.accept(never);
    client.destroy();
    accepted.destroy();
    await second.shutdown();
    expect(await exists(socketPath)).toBe(false);
  });

  it('removes its socket file at shutdown', async () => {
    const directory = await temp('mt-fu-');
    const socketPath = path.join(directory, 'gone.sock');
    const listener = await listen(socketPath);
    expect(await exists(socketPath)).toBe(true);
    await listener.shutdown();
    expect(await exists(socketPath)).toBe(false);
    expect(await reachable(socketPath)).toBe(false);
  });

  it('explains a socket path that is too long', async () => {
    const directory = await temp('mt-fu-');
    const socketPath = path.join(directory, `${'s'.repeat(120)}.sock`);
    const error = await listenError(socketPath);
    const bytes = Buffer.byteLength(socketPath);
    expect(error.code).toBe('MUTAGEN_FORWARD_LISTEN');
    expect(error.message).toBe(`unable to listen on unix:${socketPath}: socket path is too long (${bytes} bytes; linux allows at most 107)`);
    expect(error.hint).toMatch(/limited to 107 bytes/);
    await expect(localDestination(`unix:${socketPath}`, { logger: silentLogger }).dial(never)).rejects.toMatchObject({
      code: 'MUTAGEN_FORWARD_DIAL',
      message: `unable to connect to unix:${socketPath}: socket path is too long (${bytes} bytes; linux allows at most 107)`,
    });
  });

  it('accepts a path right at the limit', async () => {
    const directory = await temp('mt-fu-');
    const socketPath = path.join(directory, 'x'.repeat(107 - directory.length - 1));
    expect(Buffer.byteLength(socketPath)).toBe(107);
    await listen(socketPath);
    expect(await reachable(socketPath)).toBe(true);
    expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
  });

  it('explains a missing parent directory, or a parent that is a file', async () => {
    const directory = await temp('mt-fu-');
    const missing = path.join(directory, 'missing', 'x.sock');
    const error = await listenError(missing);
    expect(error.code).toBe('MUTAGEN_FORWARD_LISTEN');
    expect(error.message).toBe(`unable to listen on unix:${missing}: directory ${path.join(directory, 'missing')} does not exist`);
    expect(error.hint).toBe('Create the directory first, or choose a socket path in an existing directory.');
    await writeFile(path.join(directory, 'file'), '');
    const underFile = path.join(directory, 'file', 'x.sock');
    expect((await listenError(underFile)).message).toBe(`unable to listen on unix:${underFile}: ${path.join(directory, 'file')} is not a directory`);
  });

  it('reports a missing target socket as MUTAGEN_FORWARD_DIAL', async () => {
    const directory = await temp('mt-fu-');
    const target = path.join(directory, 'absent.sock');
    const destination = localDestination(`unix:${target}`, { logger: silentLogger });
    await expect(destination.dial(never)).rejects.toMatchObject({
      code: 'MUTAGEN_FORWARD_DIAL',
      message: `unable to connect to unix:${target}: no such file or directory`,
      hint: `No socket exists at unix:${target}; start the target service or check the path.`,
    });
  });
});
