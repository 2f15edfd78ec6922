import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/base/logger.js';
import { emptySyncConfiguration, resolveEndpointConfiguration } from '../../../src/model/configuration.js';
import type { Transmission } from '../../../src/sync/endpoint.js';
import { RemoteEndpoint } from '../../../src/sync/remote/client.js';
import { TRANSFER_WINDOW } from '../../../src/sync/remote/proxy-receiver.js';
import { serveSyncEndpoint } from '../../../src/sync/remote/server.js';
import { EMPTY_SIGNATURE } from '../../../src/sync/rsync/types.js';
import { Multiplexer } from '../../../src/wire/multiplexer.js';
import { createWorkspace, type Workspace } from '../../helpers/engine.js';
import { eventually } from '../../helpers/eventually.js';
import { carrierPair } from '../../helpers/remote-loop.js';

const configuration = resolveEndpointConfiguration(emptySyncConfiguration(), { ...emptySyncConfiguration(), watch: { mode: 'no-watch' } });
const MIB = 1024 * 1024;

describe('remote transfers and snapshots', () => {
  let ws: Workspace;
  let client: Multiplexer;
  let endpoint: RemoteEndpoint;
  let served: Promise<void>;

  beforeEach(async () => {
    ws = await createWorkspace('mutagen-transfer-');
    await mkdir(ws.alpha, { recursive: true });
    const pipe = carrierPair();
    client = new Multiplexer(pipe.client, { role: 'client' });
    served = serveSyncEndpoint(new Multiplexer(pipe.server, { role: 'server' }), { dataDirectory: ws.data, homeDirectory: ws.base, logger: silentLogger }, AbortSignal.timeout(60_000));
    endpoint = await RemoteEndpoint.connect(client, { sessionId: 'sync_t', side: 'alpha', root: 'alpha', configuration, readOnly: false }, { logger: silentLogger }, AbortSignal.timeout(10_000));
  });
  afterEach(async () => {
    await endpoint.shutdown();
    await served;
    await ws.dispose();
  });

  it('a receiver that stops reading stops the agent (end-to-end back-pressure), then the file completes intact', async () => {
    const content = randomBytes(16 * MIB);
    await writeFile(path.join(ws.alpha, 'big'), content);
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => { release = resolve; });
    const hash = createHash('sha256');
    let writes = 0;
    let finished = false;
    const receiver = {
      write: async (t: Transmission) => {
        if (t.kind === 'operation' && t.operation.kind === 'data') hash.update(t.operation.data);
        if (++writes === 2) await blocked;
      },
      finish: () => { finished = true; return Promise.resolve(); },
    };
    const supplying = endpoint.supply({ paths: ['big'], signatures: [EMPTY_SIGNATURE] }, receiver, AbortSignal.timeout(60_000));
    // While the receiver holds its second write, only what stream credit (256 KiB, grown to at
    // most TRANSFER_WINDOW while the reader kept up), the receiving side's read-ahead
    // (READ_AHEAD_BYTES, 1 MiB) and pipe buffers allow may cross: a bounded window, not the
    // 16 MiB file. Wait for the window to fill, give the agent time to push more if it could,
    // then check.
    await eventually(() => expect(client.bytesRead).toBeGreaterThan(256 * 1024));
    await delay(300);
    expect(client.bytesRead).toBeLessThan(TRANSFER_WINDOW + 2 * MIB);
    expect(writes).toBe(2);
    release();
    await supplying;
    expect(finished).toBe(true);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));
  });

  it('a no-op rescan of a 2k-entry tree costs a few hundred bytes on the wire', async () => {
    for (let d = 0; d < 20; d++) {
      const directory = path.join(ws.alpha, `d${d}`);
      await mkdir(directory);
      await Promise.all(Array.from({ length: 100 }, (_, f) => writeFile(path.join(directory, `f${f}`), `${d}/${f}`)));
    }
    const before = client.bytesRead;
    const first = await endpoint.scan({ full: false }, AbortSignal.timeout(30_000));
    const firstBytes = client.bytesRead - before;
    expect(first.kind === 'snapshot' && first.snapshot.files).toBe(2000);
    expect(firstBytes).toBeGreaterThan(2000 * 20);
    const middle = client.bytesRead;
    const second = await endpoint.scan({ full: true }, AbortSignal.timeout(30_000));
    expect(client.bytesRead - middle).toBeLessThan(1024);
    // The daemon's copy is the same tree object: nothing changed, nothing was rebuilt.
    expect(second.kind === 'snapshot' && first.kind === 'snapshot' && second.snapshot.content === first.snapshot.content).toBe(true);
    // One changed file: a small delta, and unchanged directories keep their identity.
    await writeFile(path.join(ws.alpha, 'd3', 'f3'), 'changed');
    const third = await endpoint.scan({ full: true }, AbortSignal.timeout(30_000));
    expect(third.kind).toBe('snapshot');
    if (third.kind !== 'snapshot' || first.kind !== 'snapshot') return;
    const dir = (e: typeof third.snapshot.content, name: string): unknown => (e?.kind === 'directory' ? e.contents.get(name) : undefined);
    expect(dir(third.snapshot.content, 'd4')).toBe(dir(first.snapshot.content, 'd4'));
    expect(dir(third.snapshot.content, 'd3')).not.toBe(dir(first.snapshot.content, 'd3'));
    expect(await readFile(path.join(ws.alpha, 'd3', 'f3'), 'utf8')).toBe('changed');
  });
});
