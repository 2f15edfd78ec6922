import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/base/logger.js';
import { connectRemoteSource } from '../../../src/forward/remote/client.js';
import { useTempDirectories } from '../../helpers/temp.js';
import { eventually } from '../../helpers/eventually.js';
import { agentLoop, connectUnix, outcome, SOCKET, textOf } from './fixture.js';

const temp = useTempDirectories();
const timeout = (): AbortSignal => AbortSignal.timeout(10_000);

describe('remote source (agent listener)', () => {
  it('binds a home-relative Unix socket at initialize and hands out one stream per accepted connection, half-close both ways', async () => {
    const home = await temp('mtfs-');
    const loop = agentLoop({ home });
    const source = await connectRemoteSource(loop.client, { endpoint: 'unix:~/s.sock', socket: SOCKET }, { logger: silentLogger }, timeout());
    const socketPath = path.join(home, 's.sock');
    const info = await stat(socketPath);
    expect([info.isSocket(), (info.mode & 0o777).toString(8)]).toEqual([true, '600']);

    const first = await connectUnix(socketPath);
    const second = await connectUnix(socketPath);
    const a = await source.accept(timeout());
    const b = await source.accept(timeout());
    first.end('from the first client');
    second.end('from the second client');
    expect(new Set([await textOf(a), await textOf(b)])).toEqual(new Set(['from the first client', 'from the second client']));
    // Both clients closed their write side; the answers still reach them.
    a.end('answer a');
    b.end('answer b');
    expect(new Set([await textOf(first), await textOf(second)])).toEqual(new Set(['answer a', 'answer b']));
    await source.shutdown();
  });

  it('a relative unix path binds under the remote home with the requested permission mode', async () => {
    const home = await temp('mtfs-');
    const loop = agentLoop({ home });
    const source = await connectRemoteSource(loop.client, { endpoint: 'unix:rel.sock', socket: { overwriteMode: 'leave', permissionMode: 0o660 } }, { logger: silentLogger }, timeout());
    expect(((await stat(path.join(home, 'rel.sock'))).mode & 0o777).toString(8)).toBe('660');
    await source.shutdown();
  });

  it('a remote bind failure rejects the connect with "remote initialization failure" and closes the connection', async () => {
    const home = await temp('mtfs-');
    await writeFile(path.join(home, 'taken.sock'), 'not a socket');
    let closed = false;
    const loop = agentLoop({ home });
    const result = await outcome(connectRemoteSource(loop.client, { endpoint: 'unix:~/taken.sock', socket: SOCKET }, {
      logger: silentLogger, owned: { close: () => { closed = true; } },
    }, timeout()));
    expect(result).toMatch(/^MUTAGEN_FORWARD_LISTEN: remote initialization failure: /);
    expect(closed).toBe(true);
    expect(await loop.client.closed).toBeUndefined();
    await loop.served;
    // The file that was in the way is left alone (overwrite mode "leave").
    expect((await stat(path.join(home, 'taken.sock'))).isFile()).toBe(true);
  });

  it('a socket in a missing directory is a bind failure too', async () => {
    const home = await temp('mtfs-');
    const loop = agentLoop({ home });
    const result = await outcome(connectRemoteSource(loop.client, { endpoint: 'unix:~/missing/dir/s.sock', socket: SOCKET }, { logger: silentLogger }, timeout()));
    expect(result).toMatch(/^MUTAGEN_FORWARD_LISTEN: remote initialization failure: /);
  });

  it("another user's home is refused", async () => {
    const home = await temp('mtfs-');
    const loop = agentLoop({ home });
    const result = await outcome(connectRemoteSource(loop.client, { endpoint: 'unix:~bob/s.sock', socket: SOCKET }, { logger: silentLogger }, timeout()));
    expect(result).toBe(`MUTAGEN_INVALID_URL: remote initialization failure: unable to resolve "~bob/s.sock": other users' home directories are not supported`);
  });

  it('shutdown removes the remote socket file, resolves failure with MUTAGEN_CANCELLED and makes accept reject', async () => {
    const home = await temp('mtfs-');
    const loop = agentLoop({ home });
    let closed = 0;
    const source = await connectRemoteSource(loop.client, { endpoint: `unix:${path.join(home, 'x.sock')}`, socket: SOCKET }, {
      logger: silentLogger, owned: { close: () => { closed++; } },
    }, timeout());
    const pending = outcome(source.accept(timeout()));
    await Promise.all([source.shutdown(), source.shutdown()]);
    expect(closed).toBe(1);
    expect(await pending).toBe('MUTAGEN_CANCELLED: forwarding endpoint shut down');
    expect((await source.failure).code).toBe('MUTAGEN_CANCELLED');
    await expect(stat(path.join(home, 'x.sock'))).rejects.toThrow(/ENOENT/);
    await loop.served;
  });

  it('aborting accept rejects it with MUTAGEN_CANCELLED and leaves the endpoint usable', async () => {
    const home = await temp('mtfs-');
    const loop = agentLoop({ home });
    const source = await connectRemoteSource(loop.client, { endpoint: 'unix:~/a.sock', socket: SOCKET }, { logger: silentLogger }, timeout());
    const controller = new AbortController();
    const pending = outcome(source.accept(controller.signal));
    controller.abort();
    expect(await pending).toBe('MUTAGEN_CANCELLED: operation cancelled');
    const client = await connectUnix(path.join(home, 'a.sock'));
    const accepted = await source.accept(timeout());
    client.end('still here');
    expect(await textOf(accepted)).toBe('still here');
    await source.shutdown();
  });

  it('a lost agent connection resolves failure with MUTAGEN_TRANSPORT quoting the agent output, and accept rejects with it', async () => {
    const home = await temp('mtfs-');
    const loop = agentLoop({ home });
    let closed = false;
    const source = await connectRemoteSource(loop.client, { endpoint: 'unix:~/l.sock', socket: SOCKET }, {
      logger: silentLogger, owned: { close: () => { closed = true; } }, diagnostics: () => 'agent: out of memory\n',
    }, timeout());
    const pending = outcome(source.accept(timeout()));
    await loop.cut();
    const failure = await source.failure;
    expect(failure.code).toBe('MUTAGEN_TRANSPORT');
    expect(failure.message).toMatch(/^connection to agent lost: .*\(agent error output: agent: out of memory\)$/);
    expect(await pending).toBe(`MUTAGEN_TRANSPORT: ${failure.message}`);
    await eventually(() => expect(closed).toBe(true));
    // The agent side notices too: it closes its listener and removes the socket file.
    await loop.served;
    await expect(stat(path.join(home, 'l.sock'))).rejects.toThrow(/ENOENT/);
  });
});
