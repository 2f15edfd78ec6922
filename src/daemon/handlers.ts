import { MutagenError } from '../base/errors.js';
import type { ForwardService } from '../forward/service.js';
import type { SyncService } from '../sync/service.js';
import type { DaemonHandlers } from './server.js';

export interface DaemonControl {
  readonly version: string;
  /** Starts an orderly shutdown after the current answer is sent. */
  terminate(): void;
}

function forwardingUnsupported(): Promise<never> {
  return Promise.reject(new MutagenError('MUTAGEN_UNSUPPORTED', 'forwarding sessions are not supported by this daemon'));
}

type ForwardHandlers = Pick<DaemonHandlers, 'forward.create' | 'forward.list' | 'forward.update' | 'forward.pause' | 'forward.resume' | 'forward.terminate'>;

function forwardHandlers(forward: ForwardService | undefined): ForwardHandlers {
  if (forward === undefined) {
    return {
      'forward.create': forwardingUnsupported,
      'forward.list': forwardingUnsupported,
      'forward.update': forwardingUnsupported,
      'forward.pause': forwardingUnsupported,
      'forward.resume': forwardingUnsupported,
      'forward.terminate': forwardingUnsupported,
    };
  }
  return {
    'forward.create': async (p, { signal, prompter }) => ({ id: await forward.create(p.spec, { paused: p.paused, prompter }, signal) }),
    'forward.list': (p, { signal }) => forward.list(p.selection, p.sinceIndex, signal),
    'forward.update': async (p, { signal }) => {
      await forward.update(p.id, p.spec, signal);
      return null;
    },
    'forward.pause': async (p, { signal }) => ({ affected: await forward.pause(p.selection, signal) }),
    'forward.resume': async (p, { signal, prompter }) => ({ affected: await forward.resume(p.selection, { prompter }, signal) }),
    'forward.terminate': async (p, { signal }) => ({ affected: await forward.terminate(p.selection, signal) }),
  };
}

/** Maps every RPC method onto the services. Without a forward service, forward.* answers MUTAGEN_UNSUPPORTED. */
export function createDaemonHandlers(sync: SyncService, forward: ForwardService | undefined, control: DaemonControl): DaemonHandlers {
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
    ...forwardHandlers(forward),
  };
}
