import { readlink, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import type { AgentBundle } from '../../../src/agent/bundle.js';
import { MINIMUM_NODE_TEXT } from '../../../src/agent/probe-scripts.js';
import { describePlatform, localPlatform } from '../../../src/agent/runtime.js';
import { makeTempDirectory, useTempDirectories } from '../../helpers/temp.js';
import { agentTestLogger, buildTestAgent, canHideNode, dialerFor, hiddenNodeWrapper, remoteAt } from './fixture.js';

// These tests hide every node binary from the "remote" with a private mount namespace, which
// needs root and unshare. Elsewhere (and only outside CI) they are skipped with this reason.
const hideable = canHideNode();
if (!hideable && process.env['CI'] === 'true') throw new Error('runtime upload tests need root and unshare --mount under CI');

let build: string;
let bundle: AgentBundle;
let localData: string;

beforeAll(async () => {
  build = await makeTempDirectory('mt-agent-build-');
  localData = await makeTempDirectory('mt-agent-local-');
  bundle = await buildTestAgent(build);
});

afterAll(async () => {
  await rm(build, { recursive: true, force: true });
  await rm(localData, { recursive: true, force: true });
});

const temp = useTempDirectories();

// Under CI the machine is set up for this (root, util-linux's unshare): not being able to is a failure, not a skip.
if (!hideable && process.env['CI'] === 'true') throw new Error('the runtime-upload tests need root and unshare (util-linux) under CI');

describe.skipIf(!hideable)('remote without a usable Node.js (needs root + unshare; skipped otherwise)', () => {
  it('uploads this machine\'s runtime once, uses it, and reuses it on the next dial', async () => {
    const home = await temp('mt-agent-home-');
    const hidden = await hiddenNodeWrapper(home);
    const remote = remoteAt(home, bundle, { wrapper: hidden.wrapper, env: { PATH: hidden.path } });
    const statuses: string[] = [];
    const connection = await dialerFor(bundle, localData).dial(remote.transport, {
      mode: 'synchronizer', logger: agentTestLogger(), onStatus: (message) => statuses.push(message),
    }, AbortSignal.timeout(110_000));
    const agentPid = remote.transport.inner.spawned().at(-1) ?? 0;
    const executable = await readlink(`/proc/${agentPid}/exe`);
    await connection.close();
    expect(executable).toMatch(new RegExp(`^${path.join(home, '.mutagen-ts/agents/runtimes')}/[0-9a-f]{64}/node$`));
    expect(statuses.some((s) => /^Uploading Node\.js runtime \(\d+\.\d of \d+\.\d MiB\)$/.test(s))).toBe(true);
    expect(remote.transport.copies).toHaveLength(2);

    const again = remoteAt(home, bundle, { wrapper: hidden.wrapper, env: { PATH: hidden.path } });
    const second = await dialerFor(bundle, localData).dial(again.transport, { mode: 'synchronizer', logger: agentTestLogger() }, AbortSignal.timeout(60_000));
    const secondExecutable = await readlink(`/proc/${again.transport.inner.spawned().at(-1) ?? 0}/exe`);
    await second.close();
    expect(again.transport.copies).toEqual([]);
    expect(secondExecutable).toBe(executable);
  });

  it('names what the remote needs when its platform cannot take this runtime', async () => {
    const home = await temp('mt-agent-home-');
    const hidden = await hiddenNodeWrapper(home, { s: 'Darwin', m: 'arm64' });
    const remote = remoteAt(home, bundle, { wrapper: hidden.wrapper, env: { PATH: hidden.path } });
    const error: unknown = await dialerFor(bundle, localData)
      .dial(remote.transport, { mode: 'synchronizer', logger: agentTestLogger() }, AbortSignal.timeout(60_000))
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(MutagenError);
    if (!(error instanceof MutagenError)) return;
    expect(error.code).toBe('MUTAGEN_AGENT');
    expect(error.message).toBe(`no usable Node.js runtime on ${remote.transport.description}: found no node`);
    expect(error.hint).toBe(`Install Node.js ${MINIMUM_NODE_TEXT} or newer for darwin/arm64 on the remote (on the PATH of a non-login shell, or at /usr/local/bin/node).`
      + ` This machine's runtime cannot be uploaded instead: a runtime can only be uploaded between Linux machines (remote darwin/arm64, local ${describePlatform(localPlatform())}).`);
    expect(remote.transport.copies).toEqual([]);
  });
});
