import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { afterAll, beforeAll } from 'vitest';
import { makeTempDirectory } from '../../helpers/temp.js';
import path from 'node:path';
import { buildAgent } from '../../../scripts/build.js';
import { Logger, parseLogLevel, silentLogger } from '../../../src/base/logger.js';
import { loadAgentBundle, type AgentBundle } from '../../../src/agent/bundle.js';
import { AgentDialer } from '../../../src/agent/dial.js';
import { ProcessTransport, type ProcessTransportOptions } from '../../../src/agent/transport/process.js';
import type { CopyOptions, CopySource, RemoteProcess, Transport } from '../../../src/agent/transport/transport.js';

/** MUTAGEN_TEST_LOG=debug prints agent-dial logs while debugging. */
export function agentTestLogger(): Logger {
  const level = process.env['MUTAGEN_TEST_LOG'];
  return level === undefined || level === '' ? silentLogger : new Logger(process.stderr, parseLogLevel(level));
}

/**
 * Builds src/agent/main.ts into `<directory>/agent.mjs` (never dist/: other builds may remove
 * it meanwhile) and loads it as the bundle the dialer installs.
 */
export async function buildTestAgent(directory: string): Promise<AgentBundle> {
  const outfile = await buildAgent({ outfile: path.join(directory, 'agent.mjs') });
  return loadAgentBundle({ path: outfile });
}

/**
 * Builds the agent once for a test file (beforeAll) into a temp directory removed afterwards;
 * the returned function gives the bundle inside tests.
 */
export function useTestAgent(): () => AgentBundle {
  let build: string | undefined;
  let bundle: AgentBundle | undefined;
  beforeAll(async () => {
    build = await makeTempDirectory('mt-agent-build-');
    bundle = await buildTestAgent(build);
  });
  afterAll(async () => {
    if (build !== undefined) await rm(build, { recursive: true, force: true });
  });
  return () => {
    if (bundle === undefined) throw new Error('the test agent is built in beforeAll');
    return bundle;
  };
}

/**
 * useTestAgent() whose bundle the daemon-side code finds through MUTAGEN_AGENT_BUNDLE for the
 * whole test file (restored afterwards): for tests that go through createRemoteEndpoints.
 */
export function useTestAgentBundle(): () => AgentBundle {
  const bundle = useTestAgent();
  const previous = process.env['MUTAGEN_AGENT_BUNDLE'];
  beforeAll(() => {
    process.env['MUTAGEN_AGENT_BUNDLE'] = bundle().path;
  });
  afterAll(() => {
    if (previous === undefined) delete process.env['MUTAGEN_AGENT_BUNDLE'];
    else process.env['MUTAGEN_AGENT_BUNDLE'] = previous;
  });
  return bundle;
}

/** A Transport wrapper that records what passes through (to prove reuse: no copy). */
export class RecordingTransport implements Transport {
  readonly copies: string[] = [];
  readonly starts: (readonly string[])[] = [];
  constructor(readonly inner: ProcessTransport) {}
  get description(): string { return this.inner.description; }
  start(argv: readonly string[], signal: AbortSignal): Promise<RemoteProcess> {
    this.starts.push(argv);
    return this.inner.start(argv, signal);
  }
  copy(source: CopySource, remotePath: string, options: CopyOptions, signal: AbortSignal): Promise<void> {
    this.copies.push(remotePath);
    return this.inner.copy(source, remotePath, options, signal);
  }
  close(): Promise<void> { return this.inner.close(); }
}

export interface Remote {
  readonly home: string;
  readonly transport: RecordingTransport;
  /** `<home>/.mutagen-ts/agents/<version>/agent.mjs` */
  readonly agentPath: string;
}

export function remoteAt(home: string, bundle: AgentBundle, options: Omit<ProcessTransportOptions, 'home'> = {}): Remote {
  return {
    home,
    transport: new RecordingTransport(new ProcessTransport({ home, closeGraceMs: 500, ...options })),
    agentPath: path.join(home, '.mutagen-ts', 'agents', bundle.version, 'agent.mjs'),
  };
}

export function dialerFor(bundle: AgentBundle, localData: string): AgentDialer {
  return new AgentDialer({ logger: agentTestLogger(), localDataDirectory: localData, bundle: () => Promise.resolve(bundle), handshakeTimeoutMs: 20_000 });
}

/** True when this process may use mount namespaces (root with unshare): the node-hiding tests need it. */
export function canHideNode(): boolean {
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/unshare')) return false;
  const result = spawnSync('unshare', ['--mount', 'sh', '-c', 'mount --bind /dev/null /bin/true && exit 0'], { stdio: 'ignore' });
  return result.status === 0;
}

/** Every executable named node on this machine's usual paths, to hide from a "remote". */
function visibleNodes(): string[] {
  return ['/usr/bin/node', '/usr/local/bin/node', '/bin/node', '/opt/node/bin/node'].filter((p) => existsSync(p));
}

/**
 * argv prefix that runs the command in a private mount namespace where every node binary is
 * replaced by /dev/null (so the "remote" has no Node.js), optionally with a fake `uname`.
 */
export async function hiddenNodeWrapper(directory: string, fakeUname?: { readonly s: string; readonly m: string }): Promise<{ wrapper: string[]; path: string }> {
  const bin = path.join(directory, 'fakebin');
  await mkdir(bin, { recursive: true });
  if (fakeUname !== undefined) {
    const script = `#!/bin/sh\ncase "$1" in -s) echo ${fakeUname.s} ;; -m) echo ${fakeUname.m} ;; *) echo ${fakeUname.s} ;; esac\n`;
    await writeFile(path.join(bin, 'uname'), script);
    await chmod(path.join(bin, 'uname'), 0o755);
  }
  const mounts = visibleNodes().map((p) => `mount --bind /dev/null ${p}`).join(' && ');
  return {
    wrapper: ['unshare', '--mount', 'sh', '-c', `${mounts} && exec "$@"`, '--'],
    path: `${bin}:/usr/local/bin:/usr/bin:/bin`,
  };
}

export async function readText(file: string): Promise<string> {
  return readFile(file, 'utf8');
}
