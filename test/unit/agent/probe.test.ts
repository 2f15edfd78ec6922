import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { describeCandidates, isUsableNodeVersion, normalizeArch, normalizeOs, parseProbeOutput, type ProbeResult } from '../../../src/agent/probe.js';
import { MINIMUM_NODE } from '../../../src/agent/probe-scripts.js';
import { runtimeMismatch } from '../../../src/agent/runtime.js';
import { ProcessTransport } from '../../../src/agent/transport/process.js';

const transport = new ProcessTransport({ home: '/nonexistent', description: 'user@example' });

const GOOD = [
  'mutagen-probe=1', 'os=Linux', 'arch=aarch64', 'libc=musl', 'home=/home/u', 'data=/home/u/.mutagen-ts', 'writable=1', 'gzip=1',
  'node=16.20.2 /usr/bin/node', 'node=? /usr/local/bin/node', 'node=22.1.0 /home/u/.nvm/versions/node/v22.1.0/bin/node', 'end=1', '',
].join('\n');

function parseError(stdout: string): MutagenError {
  try {
    parseProbeOutput(transport, stdout, true);
  } catch (error) {
    if (error instanceof MutagenError) return error;
    throw error;
  }
  throw new Error('expected a parse failure');
}

describe('probe output', () => {
  it('parses platform, directories, tools and node candidates', () => {
    const probe = parseProbeOutput(transport, GOOD, true);
    expect(probe).toEqual({
      shell: true,
      platform: { os: 'linux', arch: 'arm64', libc: 'musl' },
      home: '/home/u',
      dataDirectory: '/home/u/.mutagen-ts',
      writable: true,
      candidates: [
        { path: '/usr/bin/node', version: '16.20.2' },
        { path: '/usr/local/bin/node', version: undefined },
        { path: '/home/u/.nvm/versions/node/v22.1.0/bin/node', version: '22.1.0' },
      ],
      node: { path: '/home/u/.nvm/versions/node/v22.1.0/bin/node', version: '22.1.0' },
      agentInstalled: false,
      gzip: true,
      xz: false,
    });
    expect(describeCandidates(probe.candidates)).toBe(
      'node 16.20.2 at /usr/bin/node, /usr/local/bin/node (does not run), node 22.1.0 at /home/u/.nvm/versions/node/v22.1.0/bin/node',
    );
  });

  it('quotes login-shell noise before or after the result', () => {
    expect(parseError(`Welcome!\n${GOOD}`).message).toBe('unexpected output from the probe on user@example (before the probe result): "Welcome!"');
    expect(parseError(`${GOOD}bye\n`).message).toBe('unexpected output from the probe on user@example (after the probe result): "bye\\n"');
    expect(parseError('nothing useful').message).toBe('unexpected output from the probe on user@example (no probe result): "nothing useful"');
  });

  it('rejects malformed, unknown, repeated or truncated fields', () => {
    const replace = (from: string, to: string): string => GOOD.replace(from, to);
    expect(parseError(replace('gzip=1', 'shell=/bin/bash')).message).toContain('(unknown or repeated key): "shell=/bin/bash"');
    expect(parseError(replace('gzip=1', 'os=Darwin')).message).toContain('(unknown or repeated key)');
    expect(parseError(replace('libc=musl', 'libc=bionic')).message).toContain('(invalid libc): "bionic"');
    expect(parseError(replace('arch=aarch64', 'arch=x86 64')).message).toContain('(invalid arch)');
    expect(parseError(replace('node=? /usr/local/bin/node', 'node=20 relative/node')).message).toContain('(malformed node line)');
    expect(parseError(replace('end=1\n', '')).message).toContain('(truncated)');
    expect(parseError(replace('writable=1', 'no equals sign')).message).toContain('(malformed line)');
    expect(parseError(replace('data=/home/u/.mutagen-ts', 'data=relative')).message).toBe('the data directory on user@example is not an absolute path: "relative"');
    expect(parseError(replace('home=/home/u', 'home=')).code).toBe('MUTAGEN_AGENT');
  });

  it('normalizes uname names to Node.js names', () => {
    expect([normalizeOs('Linux'), normalizeOs('Darwin'), normalizeOs('MINGW64_NT-10.0'), normalizeOs('Plan9')]).toEqual(['linux', 'darwin', 'win32', 'plan9']);
    expect([normalizeArch('x86_64'), normalizeArch('amd64'), normalizeArch('aarch64'), normalizeArch('armv7l'), normalizeArch('mips')]).toEqual(['x64', 'x64', 'arm64', 'arm', 'mips']);
    const { major, minor } = MINIMUM_NODE;
    expect([`${major}.${minor}.0`, `${major}.${minor - 1}.9`, `${major - 1}.99.0`, `${major + 1}.0.0`, '16.20.2', undefined, 'x.y.z'].map(isUsableNodeVersion))
      .toEqual([true, false, false, true, false, false, false]);
  });
});

describe('runtime upload eligibility', () => {
  const probe = (platform: ProbeResult['platform'], extra: Partial<ProbeResult> = {}): ProbeResult => ({
    ...parseProbeOutput(transport, GOOD, true), platform, ...extra,
  });
  const local = { os: 'linux', arch: 'x64', libc: 'glibc' } as const;

  it('accepts only Linux with the same architecture and C library, a shell and a writable data directory', () => {
    expect(runtimeMismatch(local, probe({ os: 'linux', arch: 'x64', libc: 'glibc' }))).toBeUndefined();
    expect(runtimeMismatch(local, probe({ os: 'darwin', arch: 'x64', libc: 'unknown' }))).toBe(
      'a runtime can only be uploaded between Linux machines (remote darwin/x64, local linux/x64 (glibc))',
    );
    expect(runtimeMismatch(local, probe({ os: 'linux', arch: 'arm64', libc: 'glibc' }))).toBe("the remote's architecture arm64 differs from the local x64");
    expect(runtimeMismatch(local, probe({ os: 'linux', arch: 'x64', libc: 'musl' }))).toBe("the remote's C library (musl) differs from the local glibc");
    expect(runtimeMismatch(local, probe({ os: 'linux', arch: 'x64', libc: 'glibc' }, { shell: false }))).toBe('the remote has no shell (sh) to unpack a runtime');
    expect(runtimeMismatch(local, probe({ os: 'linux', arch: 'x64', libc: 'glibc' }, { writable: false }))).toBe('the data directory /home/u/.mutagen-ts is not writable');
  });
});
