import { execFile } from 'node:child_process';
import { chmod, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useTempDirectories } from '../../helpers/temp.js';

/**
 * Bind failures that only a user without privileges sees. As root the listener runs in a child
 * process as `nobody` (uid/gid 65534); otherwise as the current user.
 */
const temp = useTempDirectories();
const child = fileURLToPath(new URL('./fixtures/listen-child.ts', import.meta.url));
const root = fileURLToPath(new URL('../../..', import.meta.url));
const isRoot = process.getuid?.() === 0;
const NOBODY = 65_534;

interface Outcome {
  readonly ok?: boolean;
  readonly code?: string;
  readonly message?: string;
  readonly hint?: string;
  readonly uid?: number;
}

async function listenUnprivileged(endpoint: string): Promise<Outcome> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', child, endpoint], {
    cwd: root,
    timeout: 60_000,
    ...(isRoot ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  const outcome = JSON.parse(stdout) as Outcome;
  expect(outcome.uid).not.toBe(0);
  return outcome;
}

async function unprivilegedPortStart(): Promise<number> {
  return readFile('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').then((text) => Number(text.trim()), () => 1024);
}

describe('listeners without privileges', () => {
  it('says that a port below 1024 is privileged', async (context) => {
    if ((await unprivilegedPortStart()) <= 80) context.skip(); // this kernel lets anyone bind port 80
    expect(await listenUnprivileged('tcp:127.0.0.1:80')).toMatchObject({
      code: 'MUTAGEN_FORWARD_LISTEN',
      message: 'unable to listen on tcp:127.0.0.1:80: permission denied: port 80 is a privileged port (below 1024)',
      hint: 'Binding ports below 1024 needs root or the CAP_NET_BIND_SERVICE capability; use a port of 1024 or above.',
    });
  });

  it('binds a high port as the same user', async () => {
    expect(await listenUnprivileged('tcp:127.0.0.1:0')).toMatchObject({ ok: true });
  });

  it('says when the socket directory is not writable', async () => {
    const directory = await temp('mt-fp-');
    // Root-owned 0755 (or, for a normal user, 0555): the child may enter it but not create in it.
    await chmod(directory, isRoot ? 0o755 : 0o555);
    const socketPath = path.join(directory, 'x.sock');
    expect(await listenUnprivileged(`unix:${socketPath}`)).toMatchObject({
      code: 'MUTAGEN_FORWARD_LISTEN',
      message: `unable to listen on unix:${socketPath}: permission denied creating a socket in ${directory}`,
      hint: 'Choose a directory you can write to, or change its permissions.',
    });
    await chmod(directory, 0o700);
  });
});
