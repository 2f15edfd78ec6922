import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, expect, it } from 'vitest';
import { Logger } from '../../../src/base/logger.js';
import { createRemoteEndpoints, type RemoteEndpoints } from '../../../src/daemon/remote.js';
import type { CompressionAlgorithm } from '../../../src/model/configuration.js';
import { SyncManager } from '../../../src/sync/manager.js';
import { useTestAgentBundle } from '../agent/fixture.js';
import { createWorkspace, describeState, localSpec, waitForState, type Workspace } from '../../helpers/engine.js';
import { describeWithSshd, SSH_TEST_HOST, sshTestHome } from '../../helpers/sshd.js';
import { useSsh } from './fixture.js';

/**
 * The test sshd listens on 127.0.0.1 (`mutagen-test` → HostName 127.0.0.1): a local link, so a
 * session that sets no compression talks to its agent without DEFLATE, and an explicit
 * `--compression=deflate` still gets DEFLATE. What the handshake chose is the `agent connected`
 * debug line of the daemon log.
 */
describeWithSshd('wire compression over the loopback test sshd', (sshd) => {
  useTestAgentBundle();
  const ssh = useSsh(sshd);
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('the ssh transport to 127.0.0.1 is a local link', async () => {
    const transport = await ssh.connect(await ssh.home());
    expect(transport.local).toBe(true);
  });

  /** Runs a session to the sshd until its first cycle; returns the daemon's debug log. */
  async function syncOnce(compression: CompressionAlgorithm | undefined): Promise<string> {
    const ws: Workspace = await createWorkspace('mssh-c-');
    cleanups.push(() => ws.dispose());
    const log: string[] = [];
    const logger = new Logger(new Writable({ write(chunk, _encoding, callback) { log.push(String(chunk)); callback(); } }), 'debug');
    const home = await sshTestHome(sshd, { makeDirectory: () => mkdir(ws.at('home'), { recursive: true }).then(() => ws.at('home')) });
    const remote: RemoteEndpoints = createRemoteEndpoints({ dataDirectory: ws.data, logger, logLevel: 'info', home: home.home });
    cleanups.push(() => remote.close());
    const manager = new SyncManager({ dataDirectory: ws.data, logger, version: '0.1.0-test', remote: remote.connector });
    cleanups.push(() => manager.close());
    await manager.initialize();
    await mkdir(ws.alpha, { recursive: true });
    await writeFile(path.join(ws.alpha, 'a.txt'), 'compress me? '.repeat(1000));
    const beta = ws.at('remote');
    const base = localSpec(ws.alpha, beta);
    const id = await manager.create({
      ...base,
      beta: { kind: 'sync', protocol: 'ssh', host: SSH_TEST_HOST, path: beta },
      configuration: { ...base.configuration, compression: compression === undefined ? {} : { algorithm: compression } },
    }, { paused: false }, AbortSignal.timeout(60_000));
    const state = await waitForState(manager, id, (s) => s.successfulCycles > 0 && s.status === 'watching', 60_000);
    expect(state.lastError, describeState(state)).toBeUndefined();
    expect(await readFile(path.join(beta, 'a.txt'), 'utf8')).toBe('compress me? '.repeat(1000));
    return log.join('');
  }

  function negotiated(log: string): string[] {
    return log.split('\n').filter((line) => line.includes('agent connected')).map((line) => /compression="([a-z]+)"/.exec(line)?.[1] ?? '?');
  }

  it('no compression configured: none is negotiated on the local link', async () => {
    const log = await syncOnce(undefined);
    expect(negotiated(log)).toEqual(['none']);
    expect(log).toMatch(/dialing agent .*local=true compression="none"/);
  });

  it('an explicit --compression=deflate still gets deflate', async () => {
    const log = await syncOnce('deflate');
    expect(negotiated(log)).toEqual(['deflate']);
  });
});
