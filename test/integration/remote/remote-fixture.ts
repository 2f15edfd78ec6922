import { mkdir } from 'node:fs/promises';
import { afterEach, beforeEach } from 'vitest';
import type { SyncSpec } from '../../../src/model/session.js';
import { SyncManager } from '../../../src/sync/manager.js';
import { createWorkspace, localSpec, testLogger, type SessionSettings, type Workspace } from '../../helpers/engine.js';
import { RemoteLoop, type LoopServer } from '../../helpers/remote-loop.js';

/** A workspace whose beta is served by an in-process agent (RemoteLoop) with its own home and data. */
export interface RemoteSetup {
  readonly ws: Workspace;
  /** The agent's home directory; beta URLs below are relative to it. */
  readonly home: string;
  readonly agentData: string;
  readonly loop: RemoteLoop;
  readonly manager: SyncManager;
}

/** A spec with a local alpha and an ssh-protocol beta (`betaPath` as written in the URL). */
export function remoteSpec(alpha: string, betaPath: string, settings: SessionSettings = {}): SyncSpec {
  const spec = localSpec(alpha, '/unused', settings);
  return { ...spec, beta: { kind: 'sync', protocol: 'ssh', host: 'loop.invalid', path: betaPath } };
}

/** Fresh workspace, agent loop and manager per test; everything closed afterwards. */
export function useRemote(bind: (setup: RemoteSetup) => void, options: { readonly server?: LoopServer } = {}): void {
  let setup: RemoteSetup | undefined;
  beforeEach(async () => {
    const ws = await createWorkspace('mutagen-remote-');
    const home = ws.at('home');
    const agentData = ws.at('agent-data');
    await mkdir(home, { recursive: true });
    const loop = new RemoteLoop({ dataDirectory: agentData, homeDirectory: home, ...(options.server === undefined ? {} : { server: options.server }) });
    const manager = new SyncManager({ dataDirectory: ws.data, logger: testLogger(), version: '0.1.0-test', remote: loop.connector });
    await manager.initialize();
    setup = { ws, home, agentData, loop, manager };
    bind(setup);
  });
  afterEach(async () => {
    await setup?.manager.close();
    await setup?.loop.close();
    await setup?.ws.dispose();
  });
}
