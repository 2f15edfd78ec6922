import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/base/logger.js';
import { emptySyncConfiguration, resolveEndpointConfiguration } from '../../../src/model/configuration.js';
import type { Change, Entry } from '../../../src/model/entry.js';
import { dirEntry, fileEntry } from '../../../src/sync/core/tree.js';
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

  it('stages files sent whole, in pieces or failed; the scan after their transition sends only what changed since', async () => {
    const sha1 = (bytes: Uint8Array): Uint8Array => createHash('sha1').update(bytes).digest();
    const small = Array.from({ length: 300 }, (_, index) => Buffer.from(`file ${index} `.repeat(1 + (index % 40))));
    const large = randomBytes(150 * 1024);
    const failed = Buffer.from('never complete');
    const first = await endpoint.scan({ full: true }, AbortSignal.timeout(30_000));
    expect(first.kind === 'snapshot' && first.snapshot.files).toBe(0);
    const files = [
      ...small.map((content, index) => ({ path: `d/f${index}`, digest: sha1(content) })),
      { path: 'large', digest: sha1(large) },
      { path: 'failed', digest: sha1(failed) },
    ];
    const plan = await endpoint.stage(files, AbortSignal.timeout(30_000));
    expect(plan.paths).toEqual(files.map((f) => f.path));
    const receiver = plan.receiver;
    if (receiver === undefined) throw new Error('no receiver');
    for (const content of small) {
      await receiver.write({ kind: 'operation', operation: { kind: 'data', data: content }, expectedSize: content.length });
      await receiver.write({ kind: 'done' });
    }
    for (let offset = 0; offset < large.length; offset += 64 * 1024) {
      await receiver.write({ kind: 'operation', operation: { kind: 'data', data: large.subarray(offset, offset + 64 * 1024) }, expectedSize: large.length });
    }
    await receiver.write({ kind: 'done' });
    await receiver.write({ kind: 'operation', operation: { kind: 'data', data: failed } });
    await receiver.write({ kind: 'done', error: 'the sender could not read the rest' });
    await receiver.finish();
    const directory: Record<string, Entry> = {};
    small.forEach((content, index) => { directory[`f${index}`] = fileEntry(sha1(content)); });
    const changes: Change[] = [
      { path: 'd', old: undefined, new: dirEntry(directory) },
      { path: 'large', old: undefined, new: fileEntry(sha1(large)) },
      { path: 'failed', old: undefined, new: fileEntry(sha1(failed)) },
    ];
    const result = await endpoint.transition(changes, AbortSignal.timeout(30_000));
    expect(result.results.map((entry) => entry?.kind)).toEqual(['directory', 'file', undefined]);
    expect(result.missingStagedFiles).toBe(true);
    expect(await readFile(path.join(ws.alpha, 'large'))).toEqual(large);
    expect(await readFile(path.join(ws.alpha, 'd', 'f299'))).toEqual(small[299]);
    // Both sides took the transition's results as the base of the next delta: the rescan finds
    // exactly that (301 new files) and sends a few hundred bytes, not the new subtree.
    const before = client.bytesRead;
    const second = await endpoint.scan({ full: true }, AbortSignal.timeout(30_000));
    expect(client.bytesRead - before).toBeLessThan(1024);
    expect(second.kind === 'snapshot' && second.snapshot.files).toBe(301);
    const content = second.kind === 'snapshot' ? second.snapshot.content : undefined;
    expect(content?.kind === 'directory' && [...content.contents.keys()].sort()).toEqual(['d', 'large']);
  });
});
