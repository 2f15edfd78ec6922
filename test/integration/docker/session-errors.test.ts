import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { errorMessage, MutagenError } from '../../../src/base/errors.js';
import type { SyncSpec } from '../../../src/model/session.js';
import { describeDocker, useContainers } from '../../helpers/docker.js';
import { useTempDirectories } from '../../helpers/temp.js';
import { useDockerSessions } from './session-fixture.js';

/**
 * Issue 6 §2 bad input: `create` connects beta before saving (cli spec §12 row 15), so each of
 * these rejects with a MutagenError that names the cause and the fix, and leaves no session.
 */
describeDocker('creating sync sessions into containers that cannot host them', (docker) => {
  const containers = useContainers(docker);
  const sessions = useDockerSessions(docker);
  const temp = useTempDirectories();

  async function createError(spec: SyncSpec): Promise<MutagenError> {
    await mkdir(sessions.ws.alpha, { recursive: true });
    await writeFile(path.join(sessions.ws.alpha, 'a.txt'), 'a\n');
    const error: unknown = await sessions.create(spec).then(() => undefined, (rejected: unknown) => rejected);
    if (!(error instanceof MutagenError)) throw new Error(`expected a MutagenError, got ${error === undefined ? 'a session' : errorMessage(error)}`);
    const { sessions: listed } = await sessions.manager.list({}, undefined, AbortSignal.timeout(10_000));
    expect(listed).toEqual([]);
    expect(await readdir(path.join(sessions.ws.data, 'sessions'))).toEqual([]);
    return error;
  }

  it('no such container: rejects naming the container and how to fix it', async () => {
    const container = await containers.start(docker.images.node);
    const spec = sessions.spec(sessions.ws.alpha, container, '/root/x');
    const error = await createError({ ...spec, beta: { ...spec.beta, host: 'mt-no-such-container' } });
    expect(error.code).toBe('MUTAGEN_TRANSPORT');
    expect(error.message).toBe('unable to connect to beta: unable to probe container mt-no-such-container: container does not exist: No such container: mt-no-such-container');
    expect(error.hint).toMatch(/docker ps -a/);
  });

  it('engine unreachable (captured DOCKER_HOST is a dead socket): rejects naming the engine address', async () => {
    const container = await containers.start(docker.images.node);
    const host = `unix://${await temp('mdead-')}/docker.sock`;
    const error = await createError(sessions.spec(sessions.ws.alpha, container, '/root/x', { environment: { DOCKER_HOST: host } }));
    expect(error.code).toBe('MUTAGEN_TRANSPORT');
    expect(error.message).toContain(`unable to connect to beta: unable to probe container ${container.name}: unable to reach the docker engine at ${host}:`);
    expect(error.hint).toMatch(/DOCKER_HOST/);
  });

  it('no Node.js and a home the user cannot write (no runtime upload possible): names what the container needs', async () => {
    // uid 12345 has no passwd entry: HOME is /, which only root may write, so neither the agent
    // nor this machine's Node.js runtime can be put there.
    const container = await containers.start(docker.images.nonode, { user: '12345' });
    const error = await createError(sessions.spec(sessions.ws.alpha, container, '~/x'));
    expect(error.code).toBe('MUTAGEN_AGENT');
    expect(error.message).toBe(`unable to connect to beta: no usable Node.js runtime on docker container ${container.name}: found no node`);
    expect(error.hint).toMatch(new RegExp(`^Install Node\\.js \\d+\\.\\d+ or newer for linux/${process.arch} \\(glibc\\) on the remote`));
    expect(error.hint).toContain("This machine's runtime cannot be uploaded instead: the data directory /.mutagen-ts is not writable.");
  });

  it('no Node.js on another architecture (no runtime upload possible): names the platform it needs', async () => {
    const container = await containers.start(docker.images.nonode);
    // The image's uname stands in for a foreign machine (a real arm64 image cannot run here).
    await container.run(['sh', '-c', 'rm /usr/bin/uname && printf \'#!/bin/sh\\ncase "$1" in -m) echo riscv64 ;; *) echo Linux ;; esac\\n\' > /usr/bin/uname && chmod 755 /usr/bin/uname']);
    expect((await container.run(['uname', '-m'])).trim()).toBe('riscv64');
    const error = await createError(sessions.spec(sessions.ws.alpha, container, '/root/x'));
    expect(error.code).toBe('MUTAGEN_AGENT');
    expect(error.message).toBe(`unable to connect to beta: no usable Node.js runtime on docker container ${container.name}: found no node`);
    expect(error.hint).toMatch(/^Install Node\.js \d+\.\d+ or newer for linux\/riscv64\b/);
    expect(error.hint).toMatch(/cannot be uploaded instead: .*riscv64/);
  });
});
