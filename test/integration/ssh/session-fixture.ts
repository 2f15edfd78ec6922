import { mkdir } from 'node:fs/promises';
import { afterEach, beforeEach } from 'vitest';
import { createRemoteEndpoints, type RemoteEndpoints } from '../../../src/daemon/remote.js';
import type { SessionId, SyncSpec } from '../../../src/model/session.js';
import { SyncManager } from '../../../src/sync/manager.js';
import { useTestAgentBundle } from '../agent/fixture.js';
import { createWorkspace, localSpec, testLogger, type SessionSettings, type Workspace } from '../../helpers/engine.js';
import { SSH_TEST_HOST, sshTestHome, type AvailableSshd, type SshTestHome } from '../../helpers/sshd.js';

/**
 * Sync sessions whose beta is reached over the test sshd, driven the way the daemon drives them:
 * an in-process SyncManager whose `remote` connector is the daemon's createRemoteEndpoints
 * (SshTransport + AgentDialer + RemoteEndpoint). The "remote" is this machine, so tests check
 * beta's files directly.
 */
export interface SshSessions {
  readonly ws: Workspace;
  readonly home: SshTestHome;
  readonly manager: SyncManager;
  /** A spec from ws.alpha (or `alpha`) to `mutagen-test:<betaPath>`. */
  spec(betaPath: string, settings?: SessionSettings & { readonly alpha?: string }): SyncSpec;
  create(spec: SyncSpec): Promise<SessionId>;
}

/** Registers the hooks (call at the top of a describe block): a fresh workspace, home, connector and manager per test. */
export function useSshSessions(sshd: AvailableSshd): SshSessions {
  useTestAgentBundle();
  const current: { ws?: Workspace; home?: SshTestHome; remote?: RemoteEndpoints; manager?: SyncManager } = {};
  beforeEach(async () => {
    const ws = await createWorkspace('mssh-');
    const home = await sshTestHome(sshd, { makeDirectory: () => mkdir(ws.at('home'), { recursive: true }).then(() => ws.at('home')) });
    const remote = createRemoteEndpoints({ dataDirectory: ws.data, logger: testLogger(), logLevel: 'info', home: home.home });
    const manager = new SyncManager({ dataDirectory: ws.data, logger: testLogger(), version: '0.1.0-test', remote: remote.connector });
    await manager.initialize();
    Object.assign(current, { ws, home, remote, manager });
  });
  afterEach(async () => {
    await current.manager?.close();
    await current.remote?.close();
    await current.ws?.dispose();
  });
  const need = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useSshSessions: used outside a test');
    return value;
  };
  return {
    get ws() { return need(current.ws); },
    get home() { return need(current.home); },
    get manager() { return need(current.manager); },
    spec(betaPath, settings = {}) {
      const base = localSpec(settings.alpha ?? need(current.ws).alpha, betaPath, settings);
      return { ...base, beta: { kind: 'sync', protocol: 'ssh', host: SSH_TEST_HOST, path: betaPath } };
    },
    create(spec) {
      return need(current.manager).create(spec, { paused: false }, AbortSignal.timeout(60_000));
    },
  };
}
