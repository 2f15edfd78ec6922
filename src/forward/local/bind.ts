import type net from 'node:net';
import { cancelledError } from '../../base/abort.js';
import { errnoCode, MutagenError } from '../../base/errors.js';

/** A bind or listen failure: the reason fragment and a hint; the caller prefixes the endpoint. */
export function listenFailure(reason: string, hint?: string, cause?: unknown): MutagenError {
  return new MutagenError('MUTAGEN_FORWARD_LISTEN', reason, { ...(hint === undefined ? {} : { hint }), ...(cause === undefined ? {} : { cause }) });
}

/**
 * Starts `server` listening; resolves on 'listening', rejects with the raw bind error (errno code
 * kept), or MUTAGEN_CANCELLED when `signal` aborts (the server is closed then). A server whose
 * listen failed may listen again.
 */
export function listenOn(server: net.Server, options: net.ListenOptions, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(cancelledError());
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      server.off('listening', onListening);
      server.off('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    const onListening = (): void => { cleanup(); resolve(); };
    const onError = (error: Error): void => { cleanup(); reject(error); };
    const onAbort = (): void => {
      cleanup();
      server.close();
      reject(cancelledError());
    };
    server.once('listening', onListening);
    server.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
    server.listen(options);
  });
}

/** True when `error` carries one of `codes`. */
export function hasCode(error: unknown, ...codes: string[]): boolean {
  const code = errnoCode(error);
  return code !== undefined && codes.includes(code);
}
