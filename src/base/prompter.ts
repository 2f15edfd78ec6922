/** Relays a question to the user of the CLI that issued the request (host keys, passphrases). */
export interface Prompter {
  prompt(request: { readonly kind: 'echo' | 'secret'; readonly message: string }, signal: AbortSignal): Promise<string>;
  /** Transient status lines ("Connecting to agent..."). */
  status(message: string): void;
}
