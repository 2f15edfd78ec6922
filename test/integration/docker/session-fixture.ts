import { afterEach, beforeEach } from 'vitest';
import { createRemoteEndpoints, type RemoteEndpoints } from '../../../src/daemon/remote.js';
import type { SessionId, SyncSpec } from '../../../src/model/session.js';
import { SyncManager } from '../../../src/sync/manager.js';
import { useTestAgentBundle } from '../agent/fixture.js';
import type { AvailableDocker, TestContainer } from '../../helpers/docker.js';
import { createWorkspace, localSpec, testLogger, type SessionSettings, type Workspace } from '../../helpers/engine.js';

/**
 * Sync sessions whose beta is inside a test container, driven the way the daemon drives them:
 * an in-process SyncManager whose `remote` connector is the daemon's createRemoteEndpoints
 * (DockerTransport + AgentDialer + RemoteEndpoint), with the real engine on both sides.
 */
export interface DockerSessions {
  readonly ws: Workspace;
  readonly manager: SyncManager;
  /** A spec from a local alpha to `docker://[user@]container<path>` with the test engine captured. */
  spec(alpha: string, container: TestContainer, path: string, options?: { readonly user?: string; readonly environment?: Record<string, string> } & SessionSettings): SyncSpec;
  create(spec: SyncSpec): Promise<SessionId>;
}

/**
 * Registers the hooks (call at the top of a describe block): the agent is built once per file
 * into a temp directory (never dist/, which other builds rewrite) and found through
 * MUTAGEN_AGENT_BUNDLE; each test gets a fresh workspace, connector and manager.
 */
export function useDockerSessions(docker: AvailableDocker): DockerSessions {
  useTestAgentBundle();
  const current: { ws?: Workspace; remote?: RemoteEndpoints; manager?: SyncManager } = {};
  beforeEach(async () => {
    const ws = await createWorkspace('mdock-');
    const remote = createRemoteEndpoints({ dataDirectory: ws.data, logger: testLogger(), logLevel: 'info', home: ws.at('home') });
    const manager = new SyncManager({ dataDirectory: ws.data, logger: testLogger(), version: '0.1.0-test', remote: remote.connector });
    await manager.initialize();
    Object.assign(current, { ws, remote, manager });
  });
  afterEach(async () => {
    await current.manager?.close();
    await current.remote?.close();
    await current.ws?.dispose();
  });
  const need = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useDockerSessions: used outside a test');
    return value;
  };
  return {
    get ws() { return need(current.ws); },
    get manager() { return need(current.manager); },
    spec(alpha, container, path, options = {}) {
      const base = localSpec(alpha, path, options);
      const environment = options.environment ?? { DOCKER_HOST: docker.dockerHost };
      return {
        ...base,
        beta: { kind: 'sync', protocol: 'docker', host: container.name, path, environment, ...(options.user === undefined ? {} : { user: options.user }) },
      };
    },
    create(spec) {
      return need(current.manager).create(spec, { paused: false }, AbortSignal.timeout(120_000));
    },
  };
}

// --- reading the container's side through the container (node -e in the node image) ---

/** Runs a script with the container's node; `args` arrive as process.argv[1...]. */
export async function nodeIn(container: TestContainer, script: string, args: readonly string[], user?: string): Promise<string> {
  return container.run(['node', '-e', script, ...args], user === undefined ? {} : { user });
}

/** sha256 (hex) of a file in the container. */
export async function sha256In(container: TestContainer, file: string): Promise<string> {
  const script = "process.stdout.write(require('crypto').createHash('sha256').update(require('fs').readFileSync(process.argv[1])).digest('hex'))";
  return nodeIn(container, script, [file]);
}

export interface ContainerEntry {
  readonly path: string;
  readonly type: 'file' | 'directory' | 'other';
  readonly uid: number;
  readonly gid: number;
}

/** Every entry under `root` (recursive, relative paths, sorted), with owner and type. */
export async function treeIn(container: TestContainer, root: string): Promise<ContainerEntry[]> {
  const script = `
    const fs = require('fs'), path = require('path');
    const out = [];
    const walk = (dir, rel) => {
      for (const name of fs.readdirSync(dir).sort()) {
        const full = path.join(dir, name), r = rel === '' ? name : rel + '/' + name, s = fs.lstatSync(full);
        out.push({ path: r, type: s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other', uid: s.uid, gid: s.gid });
        if (s.isDirectory()) walk(full, r);
      }
    };
    if (fs.existsSync(process.argv[1])) walk(process.argv[1], '');
    process.stdout.write(JSON.stringify(out));`;
  const parsed: unknown = JSON.parse(await nodeIn(container, script, [root]));
  if (!Array.isArray(parsed)) throw new Error(`treeIn: unexpected output ${JSON.stringify(parsed)}`);
  return parsed.map((item: unknown) => {
    const entry = parseEntry(item);
    const path = typeof item === 'object' && item !== null ? Reflect.get(item, 'path') : undefined;
    if (typeof path !== 'string') throw new Error(`treeIn: entry without a path ${JSON.stringify(item)}`);
    return { path, ...entry };
  });
}

function parseEntry(item: unknown): Omit<ContainerEntry, 'path'> {
  if (typeof item !== 'object' || item === null) throw new Error(`not an entry: ${JSON.stringify(item)}`);
  const type: unknown = Reflect.get(item, 'type');
  const uid: unknown = Reflect.get(item, 'uid');
  const gid: unknown = Reflect.get(item, 'gid');
  if ((type !== 'file' && type !== 'directory' && type !== 'other') || typeof uid !== 'number' || typeof gid !== 'number') {
    throw new Error(`not an entry: ${JSON.stringify(item)}`);
  }
  return { type, uid, gid };
}

/** `{ type, uid, gid }` of one path in the container, or undefined when it does not exist. */
export async function statIn(container: TestContainer, file: string): Promise<Omit<ContainerEntry, 'path'> | undefined> {
  const script = `
    const fs = require('fs');
    let s; try { s = fs.lstatSync(process.argv[1]); } catch { process.stdout.write('null'); process.exit(0); }
    process.stdout.write(JSON.stringify({ type: s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other', uid: s.uid, gid: s.gid }));`;
  const parsed: unknown = JSON.parse(await nodeIn(container, script, [file]));
  return parsed === null ? undefined : parseEntry(parsed);
}

/** Names of Mutagen temporaries (`.mutagen-temporary*`) under `root` in the container. */
export async function temporariesIn(container: TestContainer, root: string): Promise<string[]> {
  return (await treeIn(container, root)).map((entry) => entry.path).filter((entry) => entry.split('/').at(-1)?.startsWith('.mutagen-temporary') === true);
}
