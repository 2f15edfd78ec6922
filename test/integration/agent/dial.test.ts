import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { sha256Hex } from '../../../src/agent/bundle.js';
import type { AgentConnection } from '../../../src/agent/dial.js';
import { resolveEndpointConfiguration, emptySyncConfiguration } from '../../../src/model/configuration.js';
import { RemoteEndpoint } from '../../../src/sync/remote/client.js';
import { eventually } from '../../helpers/eventually.js';
import { useTempDirectories } from '../../helpers/temp.js';
import { writeTree } from '../../helpers/tree.js';
import { agentTestLogger, useTestAgent, dialerFor, remoteAt } from './fixture.js';

/** A shell `case` pattern for "$1@$2@$3@$4" of the agent's start: node, then (after up to two node options) the bundle. */
const AGENT_START = '*node@*agent.mjs@*@*|*node@*@*agent.mjs@*|*node@*@*@*agent.mjs';

const testAgent = useTestAgent();

const temp = useTempDirectories();

async function rejection(promise: Promise<unknown>): Promise<MutagenError> {
  const error: unknown = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof MutagenError)) throw new Error(`expected a MutagenError, got ${String(error)}`);
  return error;
}

function processGone(pid: number): void {
  if (existsSync(`/proc/${pid}`)) {
    const status = existsSync(`/proc/${pid}/status`) ? 'present' : 'gone';
    throw new Error(`process ${pid} still exists (${status})`);
  }
}

describe('agent dial over a local process transport', () => {
  it('installs, handshakes and serves a scan of a home-relative root', async () => {
    const home = await temp('mt-agent-home-');
    await writeTree(path.join(home, 'project'), { 'a.txt': 'alpha', 'dir/b.txt': 'beta' });
    const remote = remoteAt(home, testAgent());
    const dialer = dialerFor(testAgent(), await temp('mt-agent-local-'));
    const statuses: string[] = [];
    const connection = await dialer.dial(remote.transport, { mode: 'synchronizer', logger: agentTestLogger(), onStatus: (m) => statuses.push(m) }, AbortSignal.timeout(60_000));
    expect(connection.peer.version).toBe(testAgent().version);
    expect(connection.peer.digest).toBe(testAgent().digest);
    expect(sha256Hex(await readFile(remote.agentPath))).toBe(testAgent().digest);
    expect(statuses).toContain('Installing agent...');
    const configuration = resolveEndpointConfiguration(emptySyncConfiguration(), emptySyncConfiguration());
    const endpoint = await RemoteEndpoint.connect(connection.mux, { sessionId: 'sync_test', side: 'beta', root: '~/project', configuration, readOnly: false }, {
      logger: agentTestLogger(), owned: connection,
    }, AbortSignal.timeout(30_000));
    const result = await endpoint.scan({ full: true }, AbortSignal.timeout(30_000));
    expect(result.kind).toBe('snapshot');
    if (result.kind === 'snapshot') {
      const root = result.snapshot.content;
      expect(result.snapshot.files).toBe(2);
      expect(root?.kind).toBe('directory');
      if (root?.kind === 'directory') expect([...root.contents.keys()].sort()).toEqual(['a.txt', 'dir']);
    }
    await endpoint.shutdown();
    const pid = remote.transport.inner.spawned().at(-1) ?? 0;
    await eventually(() => processGone(pid));
  });

  it('serves on a runtime without AbortSignal.any (polyfilled) and diverts stray console output to stderr', async () => {
    const home = await temp('mt-agent-home-');
    await writeTree(path.join(home, 'project'), { 'a.txt': 'alpha' });
    // Preloaded before the agent: removes AbortSignal.any (as on Node < 20.3); prints to stdout on SIGUSR2.
    const strip = 'data:text/javascript,delete AbortSignal.any; process.on("SIGUSR2", () => console.log("stray output"))';
    const remote = remoteAt(home, testAgent(), {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', PRELOAD: strip },
      wrapper: ['sh', '-c', `case "$1@$2@$3@$4" in ${AGENT_START}) n=$1; shift; exec "$n" --import "$PRELOAD" "$@" ;; esac; exec "$@"`, '--'],
    });
    const connection = await dialerFor(testAgent(), await temp('mt-agent-local-')).dial(remote.transport, { mode: 'synchronizer', logger: agentTestLogger() }, AbortSignal.timeout(60_000));
    process.kill(remote.transport.inner.spawned().at(-1) ?? 0, 'SIGUSR2');
    await eventually(() => expect(connection.process.stderr()).toBe('stray output\n'));
    const configuration = resolveEndpointConfiguration(emptySyncConfiguration(), emptySyncConfiguration());
    const endpoint = await RemoteEndpoint.connect(connection.mux, { sessionId: 'sync_test', side: 'alpha', root: path.join(home, 'project'), configuration, readOnly: true }, {
      logger: agentTestLogger(), owned: connection,
    }, AbortSignal.timeout(30_000));
    const result = await endpoint.scan({ full: true }, AbortSignal.timeout(30_000));
    await endpoint.shutdown();
    expect(result.kind === 'snapshot' ? result.snapshot.files : -1).toBe(1);
  });

  it('reuses an installed agent: the second dial copies nothing', async () => {
    const home = await temp('mt-agent-home-');
    const local = await temp('mt-agent-local-');
    const first = remoteAt(home, testAgent());
    const connection = await dialerFor(testAgent(), local).dial(first.transport, { mode: 'synchronizer', logger: agentTestLogger() }, AbortSignal.timeout(60_000));
    await connection.close();
    expect(first.transport.copies).toHaveLength(1);
    const second = remoteAt(home, testAgent());
    const dialer = dialerFor(testAgent(), local);
    const again = await dialer.dial(second.transport, { mode: 'synchronizer', logger: agentTestLogger() }, AbortSignal.timeout(60_000));
    await again.close();
    // Same dialer again: the probe is cached too (only the agent itself starts).
    const third = await dialer.dial(second.transport, { mode: 'synchronizer', logger: agentTestLogger() }, AbortSignal.timeout(60_000));
    await third.close();
    expect(second.transport.copies).toEqual([]);
    expect(second.transport.starts.filter((argv) => argv[0] === 'sh')).toHaveLength(1);
  });

  it('replaces an agent of another digest and a truncated agent', async () => {
    for (const corrupt of [(b: Buffer) => Buffer.concat([b, Buffer.from('\n// another build\n')]), (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))]) {
      const home = await temp('mt-agent-home-');
      const remote = remoteAt(home, testAgent());
      await mkdir(path.dirname(remote.agentPath), { recursive: true });
      await writeFile(remote.agentPath, corrupt(testAgent().content));
      const connection = await dialerFor(testAgent(), await temp('mt-agent-local-')).dial(remote.transport, { mode: 'synchronizer', logger: agentTestLogger() }, AbortSignal.timeout(60_000));
      await connection.close();
      expect(remote.transport.copies).toHaveLength(1);
      expect(sha256Hex(await readFile(remote.agentPath))).toBe(testAgent().digest);
    }
  });

  it('reports login-shell noise quoting it, without installing in a loop', async () => {
    const home = await temp('mt-agent-home-');
    const remote = remoteAt(home, testAgent(), { wrapper: ['sh', '-c', 'echo "Welcome to the remote"; exec "$@"', '--'] });
    const error = await rejection(dialerFor(testAgent(), await temp('mt-agent-local-')).dial(remote.transport, { mode: 'synchronizer', logger: agentTestLogger() }, AbortSignal.timeout(60_000)));
    expect(error.code).toBe('MUTAGEN_AGENT');
    expect(error.message).toContain('"Welcome to the remote"');
    expect(error.hint).toMatch(/startup files/);
    expect(remote.transport.copies).toEqual([]);
  });

  it('refuses a remote whose data directory setting is unusable, before installing anything', async () => {
    const home = await temp('mt-agent-home-');
    const remote = remoteAt(home, testAgent(), { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', MUTAGEN_DATA_DIRECTORY: 'relative/dir' } });
    const error = await rejection(dialerFor(testAgent(), await temp('mt-agent-local-')).dial(remote.transport, { mode: 'forwarder', logger: agentTestLogger() }, AbortSignal.timeout(60_000)));
    expect(error.code).toBe('MUTAGEN_AGENT');
    expect(error.message).toBe(`the data directory on local process (${home}) is not an absolute path: "relative/dir"`);
    expect(remote.transport.copies).toEqual([]);
  });

  it('kills the agent process when the dial is aborted', async () => {
    const home = await temp('mt-agent-home-');
    // The agent "hangs" before its handshake: the wrapper runs sleep instead of it.
    const remote = remoteAt(home, testAgent(), { wrapper: ['sh', '-c', `case "$1@$2@$3@$4" in ${AGENT_START}) exec sleep 300 ;; esac; exec "$@"`, '--'], closeGraceMs: 200 });
    const controller = new AbortController();
    const dialing = dialerFor(testAgent(), await temp('mt-agent-local-')).dial(remote.transport, { mode: 'synchronizer', logger: agentTestLogger() }, controller.signal);
    const pid = await eventually(async () => {
      const last = remote.transport.inner.spawned().at(-1);
      const command = last === undefined ? '' : await readFile(`/proc/${last}/cmdline`, 'utf8').catch(() => '');
      if (last === undefined || !command.startsWith('sleep')) throw new Error('agent not started yet');
      return last;
    });
    controller.abort();
    const error = await rejection(dialing);
    expect(error.code).toBe('MUTAGEN_CANCELLED');
    await eventually(() => processGone(pid));
  });

  it('closes the connection idempotently and the agent exits when its stdin ends', async () => {
    const home = await temp('mt-agent-home-');
    const remote = remoteAt(home, testAgent());
    const connection: AgentConnection = await dialerFor(testAgent(), await temp('mt-agent-local-')).dial(remote.transport, { mode: 'synchronizer', logger: agentTestLogger(), compression: 'none' }, AbortSignal.timeout(60_000));
    expect(connection.peer.compression).toContain('none');
    await Promise.all([connection.close(), connection.close()]);
    const exit = await connection.process.exit;
    expect(exit.code).toBe(0);
    expect(connection.process.stderr()).toBe('');
  });
});
