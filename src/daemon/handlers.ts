import { MutagenError } from '../base/errors.js';
import type { SyncService } from '../sync/service.js';
import type { DaemonHandlers } from './server.js';

export interface DaemonControl {
  readonly version: string;
  /** Starts an orderly shutdown after the current answer is sent. */
  terminate(): void;
}

function forwardingUnsupported(): Promise<never> {
  return Promise.reject(new MutagenError('MUTAGEN_UNSUPPORTED', 'forwarding sessions are not supported yet'));
}

/** Maps every RPC method onto the services. Forward methods answer MUTAGEN_UNSUPPORTED for now. */
export function createDaemonHandlers(sync: SyncService, control: DaemonControl): DaemonHandlers {
  return {
    'daemon.version': () => Promise.resolve({ version: control.version, pid: process.pid }),
    'daemon.terminate': () => {
      control.terminate();
      return Promise.resolve(null);
    },
    'sync.create': async (p, { signal, prompter }) => ({ id: await sync.create(p.spec, { paused: p.paused, prompter }, signal) }),
    'sync.list': (p, { signal }) => sync.list(p.selection, p.sinceIndex, signal),
    'sync.update': async (p, { signal }) => {
      await sync.update(p.id, p.spec, signal);
      return null;
    },
    'sync.flush': async (p, { signal }) => ({ affected: await sync.flush(p.selection, p.skipWait, signal) }),
    'sync.pause': async (p, { signal }) => ({ affected: await sync.pause(p.selection, signal) }),
    'sync.resume': async (p, { signal, prompter }) => ({ affected: await sync.resume(p.selection, { prompter }, signal) }),
    'sync.reset': async (p, { signal, prompter }) => ({ affected: await sync.reset(p.selection, { prompter }, signal) }),
    'sync.terminate': async (p, { signal }) => ({ affected: await sync.terminate(p.selection, signal) }),
    'forward.create': forwardingUnsupported,
    'forward.list': forwardingUnsupported,
    'forward.update': forwardingUnsupported,
    'forward.pause': forwardingUnsupported,
    'forward.resume': forwardingUnsupported,
    'forward.terminate': forwardingUnsupported,
  };
}
