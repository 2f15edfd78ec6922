import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { ExecStreamDemuxer } from '../../../src/agent/transport/docker/demux.js';
import { readFirstMember, singleFileTar, tarHeader } from '../../../src/agent/transport/docker/tar.js';
import { parseEnvHome, parseIdOutput, resolveFromPasswd } from '../../../src/agent/transport/docker/user.js';
import { useTempDirectories } from '../../helpers/temp.js';

const tempDirectory = useTempDirectories();
const execFileAsync = promisify(execFile);

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function frame(type: number, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

describe('singleFileTar', () => {
  it('writes an archive GNU tar extracts with name, mode and content', async () => {
    const directory = await tempDirectory();
    const content = randomBytes(70_000);
    const archive = await collect(singleFileTar(Readable.from([content.subarray(0, 1000), content.subarray(1000)]), { name: 'agent.mjs', size: content.length, mode: 0o751, uid: 1000, gid: 1000 }));
    expect(archive.length % 512).toBe(0);
    await writeFile(path.join(directory, 'file.tar'), archive);
    const { stdout } = await execFileAsync('tar', ['-tvf', 'file.tar', '--numeric-owner'], { cwd: directory });
    expect(stdout).toMatch(/^-rwxr-x--x 1000\/1000 +70000 .* agent\.mjs\n$/);
    await execFileAsync('tar', ['-xf', 'file.tar'], { cwd: directory });
    expect((await readFile(path.join(directory, 'agent.mjs'))).equals(content)).toBe(true);
    expect((await stat(path.join(directory, 'agent.mjs'))).mode & 0o777).toBe(0o751);
  });

  it('fails when the source is shorter or longer than declared', async () => {
    await expect(collect(singleFileTar(Readable.from([Buffer.from('abc')]), { name: 'f', size: 4, mode: 0o644, uid: 0, gid: 0 }))).rejects.toThrow('ended after 3 of 4 bytes');
    await expect(collect(singleFileTar(Readable.from([Buffer.from('abcde')]), { name: 'f', size: 4, mode: 0o644, uid: 0, gid: 0 }))).rejects.toThrow('longer than');
  });

  it('refuses names a single ustar header cannot hold', () => {
    expect(() => tarHeader({ name: 'a/b', size: 0, mode: 0o644, uid: 0, gid: 0 })).toThrow(MutagenError);
    expect(() => tarHeader({ name: 'x'.repeat(101), size: 0, mode: 0o644, uid: 0, gid: 0 })).toThrow(MutagenError);
  });
});

describe('readFirstMember', () => {
  it('reads a file written by GNU tar, in small chunks', async () => {
    const directory = await tempDirectory();
    await writeFile(path.join(directory, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    await execFileAsync('tar', ['-cf', 'out.tar', 'passwd'], { cwd: directory });
    const archive = await readFile(path.join(directory, 'out.tar'));
    const chunks = Array.from({ length: Math.ceil(archive.length / 100) }, (_, index) => archive.subarray(index * 100, index * 100 + 100));
    expect(await readFirstMember(Readable.from(chunks), 1024)).toEqual({ kind: 'file', content: Buffer.from('root:x:0:0:root:/root:/bin/sh\n') });
  });

  it('reports symlinks, oversized members and truncated archives', async () => {
    const directory = await tempDirectory();
    await execFileAsync('ln', ['-s', '../usr/lib/passwd', 'link'], { cwd: directory });
    await execFileAsync('tar', ['-cf', 'out.tar', 'link'], { cwd: directory });
    expect(await readFirstMember(Readable.from([await readFile(path.join(directory, 'out.tar'))]), 10)).toEqual({ kind: 'symlink', target: '../usr/lib/passwd' });
    const big = await collect(singleFileTar(Readable.from([Buffer.alloc(2000)]), { name: 'big', size: 2000, mode: 0o644, uid: 0, gid: 0 }));
    await expect(readFirstMember(Readable.from([big]), 1000)).rejects.toThrow('larger than 1000 bytes');
    await expect(readFirstMember(Readable.from([big.subarray(0, 700)]), 4000)).rejects.toThrow('truncated archive');
  });
});

describe('user probing parsers', () => {
  it('reads HOME from env output and ids from id output', () => {
    expect(parseEnvHome('PATH=/bin\nHOSTNAME=x\nHOME=/home/app\n')).toBe('/home/app');
    expect(parseEnvHome('PATH=/bin\n')).toBeUndefined();
    expect(parseEnvHome('HOME=relative\n')).toBeUndefined();
    expect(parseIdOutput('uid=1000(app) gid=1000(app) groups=1000(app)\n')).toEqual({ uid: 1000, gid: 1000, name: 'app' });
    expect(parseIdOutput('uid=1234 gid=50 groups=50\n')).toEqual({ uid: 1234, gid: 50 });
    expect(parseIdOutput('garbage')).toBeUndefined();
  });

  it('resolves users against /etc/passwd like the engine does for --user', () => {
    const passwd = '# comment\nroot:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:App:/home/app:/bin/sh\nbroken:line\n';
    expect(resolveFromPasswd('', passwd)).toEqual({ home: '/root', uid: 0, gid: 0, name: 'root' });
    expect(resolveFromPasswd('app', passwd)).toEqual({ home: '/home/app', uid: 1000, gid: 1001, name: 'app' });
    expect(resolveFromPasswd('1000', passwd)).toEqual({ home: '/home/app', uid: 1000, gid: 1001, name: 'app' });
    expect(resolveFromPasswd('app:50', passwd)).toEqual({ home: '/home/app', uid: 1000, gid: 50, name: 'app' });
    expect(resolveFromPasswd('4242', passwd)).toEqual({ home: '/', uid: 4242, gid: 0 });
    expect(resolveFromPasswd('root', undefined)).toEqual({ home: '/', uid: 0, gid: 0 });
    expect(() => resolveFromPasswd('nobody', passwd)).toThrow('unable to find user nobody');
  });
});

describe('ExecStreamDemuxer', () => {
  function demuxer(): { demux: ExecStreamDemuxer; stdout: PassThrough; stderr: Buffer[]; engine: Buffer[] } {
    const stdout = new PassThrough();
    const stderr: Buffer[] = [];
    const engine: Buffer[] = [];
    const demux = new ExecStreamDemuxer({ stdout, onStderr: (chunk) => stderr.push(Buffer.from(chunk)), onEngineError: (chunk) => engine.push(Buffer.from(chunk)) });
    return { demux, stdout, stderr, engine };
  }

  it('splits frames cut at every possible boundary', async () => {
    const stream = Buffer.concat([frame(1, 'hello '), frame(2, 'warn\n'), frame(1, 'world'), frame(1, ''), frame(2, 'done\n')]);
    for (let cut = 1; cut < stream.length; cut += 1) {
      const { demux, stdout, stderr, engine } = demuxer();
      const received = collect(stdout);
      Readable.from([stream.subarray(0, cut), stream.subarray(cut)]).pipe(demux);
      expect((await received).toString()).toBe('hello world');
      expect(Buffer.concat(stderr).toString()).toBe('warn\ndone\n');
      expect(engine).toEqual([]);
    }
  });

  it('routes the engine\'s exec failure (first stdout frame) away from stdout', async () => {
    const { demux, stdout, engine } = demuxer();
    const received = collect(stdout);
    const message = 'OCI runtime exec failed: exec failed: unable to start container process: exec: "node": executable file not found in $PATH: unknown\r\n';
    const bytes = frame(1, message);
    Readable.from([bytes.subarray(0, 8), bytes.subarray(8, 20), bytes.subarray(20)]).pipe(demux);
    expect((await received).length).toBe(0);
    expect(Buffer.concat(engine).toString()).toBe(message);
  });

  it('passes later stdout text that merely looks like an engine error', async () => {
    const { demux, stdout } = demuxer();
    const received = collect(stdout);
    Readable.from([frame(1, 'ok\n'), frame(1, 'exec failed: not an engine error\n')]).pipe(demux);
    expect((await received).toString()).toBe('ok\nexec failed: not an engine error\n');
  });

  it('holds back the engine stream while stdout is not read (back-pressure)', async () => {
    const { demux, stdout } = demuxer();
    let accepted = false;
    demux.write(frame(1, Buffer.alloc(1024 * 1024, 7)), () => { accepted = true; });
    await new Promise((resolve) => setImmediate(resolve));
    expect(accepted).toBe(false);
    expect(stdout.readableLength).toBeLessThanOrEqual(1024 * 1024);
    const received = collect(stdout);
    demux.end();
    expect((await received).length).toBe(1024 * 1024);
    expect(accepted).toBe(true);
  });

  it('fails on a stream that is not multiplexed', async () => {
    const { demux } = demuxer();
    const failed = new Promise<Error>((resolve) => demux.on('error', resolve));
    demux.write(Buffer.from('plain text output'));
    expect((await failed).message).toContain('malformed exec stream');
  });
});
