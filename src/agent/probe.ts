import path from 'node:path';
import { MutagenError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { MINIMUM_NODE, MINIMUM_NODE_TEXT, PROBE_NODE_SCRIPT, PROBE_SHELL_SCRIPT, WELL_KNOWN_NODE_PATHS } from './probe-scripts.js';
import { quoteOutput, runCommand, type CommandResult } from './remote-command.js';
import type { Transport } from './transport/transport.js';

export type Libc = 'glibc' | 'musl' | 'unknown';

export interface RemotePlatform {
  /** Node.js naming (`process.platform`): linux, darwin, freebsd, win32... */
  readonly os: string;
  /** Node.js naming (`process.arch`): x64, arm64, arm, ia32... */
  readonly arch: string;
  /** Meaningful on Linux only. */
  readonly libc: Libc;
}

export interface NodeCandidate {
  readonly path: string;
  /** `process.versions.node`, or undefined when it did not run. */
  readonly version: string | undefined;
}

export interface ProbeResult {
  /** False when the remote has no `sh` (argv-only container): install and upload need node. */
  readonly shell: boolean;
  readonly platform: RemotePlatform;
  readonly home: string;
  /** Absolute: `$MUTAGEN_DATA_DIRECTORY` as the remote sees it, else `<home>/.mutagen-ts`. */
  readonly dataDirectory: string;
  readonly writable: boolean;
  /** Every Node.js looked at, in order. */
  readonly candidates: readonly NodeCandidate[];
  /** The first candidate whose version is at least MINIMUM_NODE. */
  readonly node: NodeCandidate | undefined;
  /** `<data>/agents/<version>/agent.mjs` exists (its digest is checked by the handshake). */
  readonly agentInstalled: boolean;
  readonly gzip: boolean;
  readonly xz: boolean;
}

export interface ProbeOptions {
  readonly version: string;
  /** A configured absolute path of the remote's node, tried first. */
  readonly nodePath?: string;
  readonly logger: Logger;
}

const OS_NAMES: Readonly<Record<string, string>> = {
  Linux: 'linux', Darwin: 'darwin', FreeBSD: 'freebsd', OpenBSD: 'openbsd', NetBSD: 'netbsd', SunOS: 'sunos', AIX: 'aix', Windows_NT: 'win32',
};
const ARCH_NAMES: Readonly<Record<string, string>> = {
  x86_64: 'x64', amd64: 'x64', x64: 'x64', aarch64: 'arm64', arm64: 'arm64', i386: 'ia32', i686: 'ia32', ia32: 'ia32',
  armv6l: 'arm', armv7l: 'arm', armv8l: 'arm', arm: 'arm', ppc64le: 'ppc64', ppc64: 'ppc64', s390x: 's390x', riscv64: 'riscv64',
};

export function normalizeOs(raw: string): string {
  if (/^(CYGWIN|MINGW|MSYS)/.test(raw)) return 'win32';
  return OS_NAMES[raw] ?? raw.toLowerCase();
}

export function normalizeArch(raw: string): string {
  return ARCH_NAMES[raw] ?? raw;
}

/** True for a Node.js version the agent bundle runs on. */
export function isUsableNodeVersion(version: string | undefined): boolean {
  const [major, minor] = (version ?? '').split('.').map(Number);
  if (major === undefined || minor === undefined || !Number.isInteger(major) || !Number.isInteger(minor)) return false;
  return major > MINIMUM_NODE.major || (major === MINIMUM_NODE.major && minor >= MINIMUM_NODE.minor);
}

function oddOutput(transport: Transport, what: string, text: string): MutagenError {
  return new MutagenError('MUTAGEN_AGENT', `unexpected output from the probe on ${transport.description} (${what}): ${quoteOutput(text)}`, {
    hint: 'Make sure the remote login shell prints nothing (check its startup files such as ~/.bashrc for echo or similar output).',
  });
}

const KEY_VALUE = /^([a-z-]{1,20})=(.{0,4096})$/;
const TOKEN = /^[A-Za-z0-9_.-]{1,64}$/;

interface Fields {
  readonly single: Map<string, string>;
  readonly nodes: NodeCandidate[];
}

/** Splits the framed key=value lines; anything outside the frame or malformed is rejected. */
function readFields(transport: Transport, stdout: string): Fields {
  const lines = stdout.split('\n');
  const start = lines.indexOf('mutagen-probe=1');
  if (start !== 0) throw oddOutput(transport, start < 0 ? 'no probe result' : 'before the probe result', start < 0 ? stdout : lines.slice(0, start).join('\n'));
  const end = lines.indexOf('end=1');
  const trailing = end < 0 ? '' : lines.slice(end + 1).join('\n');
  if (end < 0) throw oddOutput(transport, 'truncated', stdout);
  if (trailing !== '') throw oddOutput(transport, 'after the probe result', trailing);
  const single = new Map<string, string>();
  const nodes: NodeCandidate[] = [];
  for (const line of lines.slice(1, end)) {
    const match = KEY_VALUE.exec(line);
    const key = match?.[1];
    const value = match?.[2];
    if (key === undefined || value === undefined) throw oddOutput(transport, 'malformed line', line);
    if (key === 'node') {
      const space = value.indexOf(' ');
      const version = value.slice(0, space);
      const nodePath = value.slice(space + 1);
      if (space < 0 || !path.isAbsolute(nodePath) || !/^(\?|\d+\.\d+\.\d+)$/.test(version)) throw oddOutput(transport, 'malformed node line', line);
      nodes.push({ path: nodePath, version: version === '?' ? undefined : version });
    } else if (['os', 'arch', 'libc', 'home', 'data', 'writable', 'agent', 'gzip', 'xz'].includes(key) && !single.has(key)) {
      single.set(key, value);
    } else {
      throw oddOutput(transport, 'unknown or repeated key', line);
    }
  }
  return { single, nodes };
}

/** Validates the probe's output (untrusted) into a ProbeResult. */
export function parseProbeOutput(transport: Transport, stdout: string, shell: boolean): ProbeResult {
  const { single, nodes } = readFields(transport, stdout);
  const token = (key: string): string => {
    const value = single.get(key) ?? '';
    if (!TOKEN.test(value)) throw oddOutput(transport, `invalid ${key}`, value);
    return value;
  };
  const libc = token('libc');
  if (libc !== 'glibc' && libc !== 'musl' && libc !== 'unknown') throw oddOutput(transport, 'invalid libc', libc);
  const home = single.get('home') ?? '';
  const dataDirectory = single.get('data') ?? '';
  if (!path.isAbsolute(home)) {
    throw new MutagenError('MUTAGEN_AGENT', `unable to determine the home directory on ${transport.description} (got ${quoteOutput(home)})`);
  }
  if (dataDirectory === '' || !path.isAbsolute(dataDirectory)) {
    throw new MutagenError('MUTAGEN_AGENT', `the data directory on ${transport.description} is not an absolute path: ${quoteOutput(dataDirectory)}`, {
      hint: 'Set MUTAGEN_DATA_DIRECTORY on the remote to an absolute path, or unset it.',
    });
  }
  return {
    shell,
    platform: { os: normalizeOs(token('os')), arch: normalizeArch(token('arch')), libc },
    home,
    dataDirectory: path.posix.normalize(dataDirectory),
    writable: single.get('writable') === '1',
    candidates: nodes,
    node: nodes.find((candidate) => isUsableNodeVersion(candidate.version)),
    agentInstalled: single.get('agent') === '1',
    gzip: single.get('gzip') === '1',
    xz: single.get('xz') === '1',
  };
}

/** A command that could not run at all (no such program). */
function notRunnable(result: CommandResult): boolean {
  return (result.code === 127 || result.code === 126) && result.stdout === '';
}

/** Without a shell: ask each candidate node directly. */
async function probeWithoutShell(transport: Transport, options: ProbeOptions, signal: AbortSignal): Promise<ProbeResult> {
  const tried: string[] = [];
  const candidates = [...new Set([options.nodePath, 'node', ...WELL_KNOWN_NODE_PATHS].filter((p): p is string => p !== undefined))];
  for (const candidate of candidates) {
    const result = await runCommand(transport, [candidate, '-e', PROBE_NODE_SCRIPT, options.version], signal);
    if (notRunnable(result)) {
      tried.push(candidate);
      continue;
    }
    if (result.code !== 0) throw oddOutput(transport, `${candidate} exited with ${String(result.code)}`, result.stderr || result.stdout);
    const probe = parseProbeOutput(transport, result.stdout, false);
    if (probe.node !== undefined) return probe;
    tried.push(`${candidate} (${probe.candidates[0]?.version ?? '?'})`);
  }
  throw new MutagenError('MUTAGEN_AGENT', `no usable Node.js runtime on ${transport.description}: the remote has no shell (sh) and no Node.js ${MINIMUM_NODE_TEXT} or newer (tried ${tried.join(', ')})`, {
    hint: `Install Node.js ${MINIMUM_NODE_TEXT} or newer on the remote (on its PATH or at /usr/local/bin/node), or provide /bin/sh so that a runtime can be uploaded.`,
  });
}

/**
 * Probes the remote in one round trip where a shell exists (`sh -c`), otherwise argv-only via
 * `node -e`. Output is untrusted: anything odd fails with MUTAGEN_AGENT quoting it.
 */
export async function probeRemote(transport: Transport, options: ProbeOptions, signal: AbortSignal): Promise<ProbeResult> {
  const result = await runCommand(transport, ['sh', '-c', PROBE_SHELL_SCRIPT, 'sh', options.version, options.nodePath ?? ''], signal);
  if (notRunnable(result)) {
    options.logger.debug('no shell on the remote, probing with node', { remote: transport.description });
    return await probeWithoutShell(transport, options, signal);
  }
  if (result.code !== 0) {
    throw new MutagenError('MUTAGEN_AGENT', `unable to probe ${transport.description}: the probe exited with ${String(result.code ?? result.signal)}: ${quoteOutput(result.stderr || result.stdout)}`);
  }
  const probe = parseProbeOutput(transport, result.stdout, true);
  options.logger.debug('probed remote', {
    remote: transport.description, os: probe.platform.os, arch: probe.platform.arch, libc: probe.platform.libc, node: probe.node?.path, agent: probe.agentInstalled,
  });
  return probe;
}

/** "node 16.20.2 at /usr/bin/node, /opt/node/bin/node (does not run)" or "no node". */
export function describeCandidates(candidates: readonly NodeCandidate[]): string {
  if (candidates.length === 0) return 'no node';
  return candidates.map((c) => (c.version === undefined ? `${c.path} (does not run)` : `node ${c.version} at ${c.path}`)).join(', ');
}
