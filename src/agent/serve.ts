import type { Logger } from '../base/logger.js';
import { serveForwardEndpoint } from '../forward/remote/server.js';
import { serveSyncEndpoint } from '../sync/remote/server.js';
import { agentHandshake, type Hello } from '../wire/handshake.js';
import { Multiplexer, type Carrier } from '../wire/multiplexer.js';

/** The agent gives up on a daemon that does not complete the handshake within this time. */
const HANDSHAKE_TIMEOUT_MS = 60_000;

export interface AgentServeOptions {
  /** synchronizer: one sync endpoint; forwarder: one forwarding endpoint (listener or dialer). */
  readonly mode: 'synchronizer' | 'forwarder';
  /** stdin/stdout of the agent process (or a duplex pair in tests). */
  readonly carrier: Carrier;
  readonly version: string;
  /** sha256 (hex) of the agent's own file: the daemon refuses an agent whose digest differs. */
  readonly digest: string;
  readonly dataDirectory: string;
  readonly homeDirectory: string;
  readonly logger: Logger;
  readonly handshakeTimeoutMs?: number;
}

/**
 * A signal aborted by `signal` or after `ms`. (AbortSignal.any needs Node 20.3; the agent
 * bundle runs on Node 18.)
 */
function withTimeout(signal: AbortSignal, ms: number): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  const timer = setTimeout(() => controller.abort(new Error(`no handshake from the daemon within ${ms} ms`)), ms);
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * The agent's protocol: handshake (magic, hello with version and digest, compression), then a
 * server-role multiplexer serving one sync or forwarding endpoint (by mode) until the daemon
 * goes away or `signal` aborts. Resolves after the multiplexer is closed; rejects only for handshake failures.
 */
export async function serveAgent(options: AgentServeOptions, signal: AbortSignal): Promise<void> {
  const hello: Hello = { version: options.version, protocol: 1, digest: options.digest, compression: ['deflate', 'none'] };
  const handshake = withTimeout(signal, options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
  let carrier: Carrier;
  try {
    ({ carrier } = await agentHandshake(options.carrier, hello, handshake.signal));
  } finally {
    handshake.dispose();
  }
  const mux = new Multiplexer(carrier, { role: 'server', logger: options.logger.child('wire') });
  try {
    options.logger.debug('handshake complete', { mode: options.mode });
    if (options.mode === 'forwarder') {
      await serveForwardEndpoint(mux, { homeDirectory: options.homeDirectory, logger: options.logger }, signal);
    } else {
      await serveSyncEndpoint(mux, { dataDirectory: options.dataDirectory, homeDirectory: options.homeDirectory, logger: options.logger }, signal);
    }
  } finally {
    await mux.close();
  }
}
