import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../../src/agent/remote-command.js';
import { ProcessTransport } from '../../../src/agent/transport/process.js';
import { useTempDirectories } from '../../helpers/temp.js';

const temp = useTempDirectories();

describe('ProcessTransport', () => {
  it('runs argv without a shell in the given home and environment', async () => {
    const home = await temp('mt-pt-');
    const transport = new ProcessTransport({ home, env: { PATH: '/usr/bin:/bin', MARKER: 'a b;$c' } });
    const result = await runCommand(transport, ['sh', '-c', 'printf "%s|%s|%s" "$PWD" "$HOME" "$MARKER"'], AbortSignal.timeout(10_000));
    expect(result).toMatchObject({ code: 0, stdout: `${home}|${home}|a b;$c` });
    await transport.close();
  });

  it('reports a missing command as exit 127 with a shell-like message', async () => {
    const transport = new ProcessTransport({ home: await temp('mt-pt-') });
    const result = await runCommand(transport, ['no-such-command-here', '--version'], AbortSignal.timeout(10_000));
    expect(result.code).toBe(127);
    expect(result.stderr).toBe('no-such-command-here: command not found\n');
  });

  it('keeps only the last 32 KiB of stderr', async () => {
    const transport = new ProcessTransport({ home: await temp('mt-pt-') });
    const result = await runCommand(transport, ['sh', '-c', 'i=0; while [ $i -lt 2000 ]; do echo "line $i of noise on stderr"; i=$((i+1)); done >&2; exit 3'], AbortSignal.timeout(20_000));
    expect(result.code).toBe(3);
    expect(Buffer.byteLength(result.stderr)).toBeLessThanOrEqual(32 * 1024);
    expect(result.stderr.endsWith('line 1999 of noise on stderr\n')).toBe(true);
  });

  it('copies through a temporary name with the requested mode and reports progress', async () => {
    const home = await temp('mt-pt-');
    const transport = new ProcessTransport({ home });
    const content = Buffer.alloc(300_000, 7);
    const progress: number[] = [];
    await transport.copy({ size: content.length, open: () => Readable.from([content.subarray(0, 100_000), content.subarray(100_000)]) }, 'copied.bin', {
      mode: 0o640, onProgress: (bytes) => progress.push(bytes),
    }, AbortSignal.timeout(10_000));
    expect((await readFile(path.join(home, 'copied.bin'))).equals(content)).toBe(true);
    expect((await stat(path.join(home, 'copied.bin'))).mode & 0o777).toBe(0o640);
    expect(progress.at(-1)).toBe(content.length);
    expect(await readdir(home)).toEqual(['copied.bin']);
    const failure = await transport.copy({ size: 1, open: () => Readable.from([Buffer.from('x')]) }, 'missing/dir/file', { mode: 0o600 }, AbortSignal.timeout(10_000))
      .then(() => undefined, (e: unknown) => e);
    expect(failure).toMatchObject({ code: 'MUTAGEN_TRANSPORT' });
  });

  it('close() ends stdin, then kills a process that does not exit', async () => {
    const transport = new ProcessTransport({ home: await temp('mt-pt-'), closeGraceMs: 100 });
    const remote = await transport.start(['sleep', '300'], AbortSignal.timeout(10_000));
    await remote.close();
    expect(await remote.exit).toEqual({ code: null, signal: 'SIGKILL' });
    const polite = await transport.start(['cat'], AbortSignal.timeout(10_000));
    await polite.close();
    expect(await polite.exit).toEqual({ code: 0, signal: null });
  });
});
