import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import type { CopySource } from '../../../src/agent/transport/transport.js';
import { describeWithSshd } from '../../helpers/sshd.js';
import { useTempDirectories } from '../../helpers/temp.js';
import { useSsh } from './fixture.js';

/** Random bytes served in 64 KiB chunks; each open() is a fresh stream over the same content. */
function generated(size: number): CopySource & { readonly data: Buffer } {
  const data = randomBytes(size);
  return {
    size,
    data,
    open: () => Readable.from((function* () {
      for (let offset = 0; offset < size; offset += 64 * 1024) yield data.subarray(offset, Math.min(size, offset + 64 * 1024));
    })()),
  };
}

function digestOf(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

describeWithSshd('ssh transport: copy', (sshd) => {
  const ssh = useSsh(sshd);
  const temp = useTempDirectories();

  it('uploads 10 MiB over SFTP with the mode, replacing the old file only at the end', async () => {
    const transport = await ssh.connect(await ssh.home());
    const directory = await temp('mcp-');
    const target = path.join(directory, 'agent.mjs');
    await writeFile(target, 'old');
    const source = generated(10 * 1024 * 1024);
    const progress: number[] = [];
    const seenDuringUpload: string[] = [];
    await transport.copy(source, target, {
      mode: 0o751,
      onProgress: (bytes) => {
        if (progress.length === 0 || bytes - (progress.at(-1) ?? 0) > 1024 * 1024) seenDuringUpload.push(String(readFileSyncSafe(target)));
        progress.push(bytes);
      },
    }, AbortSignal.timeout(60_000));
    expect(progress.at(-1)).toBe(10 * 1024 * 1024);
    expect(seenDuringUpload.length).toBeGreaterThan(0);
    expect(new Set(seenDuringUpload)).toEqual(new Set(['old']));
    const written = await readFile(target);
    expect(digestOf(written)).toBe(digestOf(source.data));
    expect((await stat(target)).mode & 0o7777).toBe(0o751);
    expect(await readdir(directory)).toEqual(['agent.mjs']);
  });

  it('takes relative paths relative to the remote home', async () => {
    const transport = await ssh.connect(await ssh.home());
    const name = `.mutagen-ts-copy-test-${randomBytes(4).toString('hex')}`;
    try {
      await transport.copy({ size: 5, open: () => Readable.from([Buffer.from('hello')]) }, name, { mode: 0o600 }, AbortSignal.timeout(30_000));
      expect(await readFile(path.join(os.userInfo().homedir, name), 'utf8')).toBe('hello');
    } finally {
      await rm(path.join(os.userInfo().homedir, name), { force: true });
    }
  });

  it('reports a missing parent directory and leaves nothing behind', async () => {
    const transport = await ssh.connect(await ssh.home());
    const directory = await temp('mcp-');
    const error = await transport.copy(generated(1000), path.join(directory, 'missing/agent.mjs'), { mode: 0o644 }, AbortSignal.timeout(30_000))
      .then(() => undefined, (caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'MUTAGEN_TRANSPORT' });
    expect(String((error as Error).message)).toContain('missing/agent.mjs');
    expect(await readdir(directory)).toEqual([]);
  });

  it('falls back to cat through exec when the server has no sftp subsystem', async () => {
    const home = await ssh.home({ extraConfig: `Host jump-nosftp\n  HostName 127.0.0.1\n  Port ${sshd.jump.port}\n  User ${sshd.user}\n  IdentityFile ~/.ssh/id_ed25519\n  UserKnownHostsFile ~/.ssh/known_hosts\n  IdentityAgent none\n` });
    const transport = await ssh.connect(home, { target: { host: 'jump-nosftp' } });
    const directory = await temp('mcp-');
    const target = path.join(directory, "it's here");
    await writeFile(target, 'old');
    const source = generated(2 * 1024 * 1024 + 3);
    await transport.copy(source, target, { mode: 0o700 }, AbortSignal.timeout(60_000));
    expect(digestOf(await readFile(target))).toBe(digestOf(source.data));
    expect((await stat(target)).mode & 0o7777).toBe(0o700);
    expect(await readdir(directory)).toEqual(["it's here"]);

    await mkdir(path.join(directory, 'sub'));
    const failure = await transport.copy(generated(10), path.join(directory, 'nope/file'), { mode: 0o644 }, AbortSignal.timeout(30_000))
      .then(() => undefined, (caught: unknown) => caught);
    expect(failure).toMatchObject({ code: 'MUTAGEN_TRANSPORT' });
  });
});

function readFileSyncSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '<missing>';
  }
}
