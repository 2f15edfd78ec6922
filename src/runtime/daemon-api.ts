import type { DaemonMethod, DaemonParams, DaemonResult } from '../daemon/rpc.js';

/** Answers questions the daemon relays while it connects an endpoint (SSH passwords, host keys). */
export interface RuntimePrompter {
  prompt(request: { readonly kind: 'echo' | 'secret'; readonly message: string }, signal: AbortSignal): Promise<string>;
}

export interface RuntimeCallOptions {
  readonly signal: AbortSignal;
  readonly prompter?: RuntimePrompter;
  /** Transient status lines the daemon emits while handling the call ("Connecting to beta..."). */
  readonly onStatus?: (message: string) => void;
}

/**
 * The daemon as the runtime sees it: the typed RPC table of src/daemon/rpc.ts. `DaemonClient`
 * (src/daemon/client.ts) satisfies it; the runtime never imports the client itself (ARCHITECTURE
 * §3.3 rule 3), so the CLI owns connecting and closing. Calls may run concurrently.
 */
export interface ProjectDaemon {
  call<M extends DaemonMethod>(method: M, params: DaemonParams<M>, options: RuntimeCallOptions): Promise<DaemonResult<M>>;
}
