import { MutagenError } from '../base/errors.js';

export const NETWORK_PROTOCOLS = ['tcp', 'tcp4', 'tcp6', 'unix', 'npipe'] as const;
export type NetworkProtocol = (typeof NETWORK_PROTOCOLS)[number];

/** A URL error: `MUTAGEN_INVALID_URL` with a §4 fragment as its message. */
export function urlError(message: string, hint?: string): MutagenError {
  return new MutagenError('MUTAGEN_INVALID_URL', message, hint === undefined ? {} : { hint });
}

/**
 * Splits a network endpoint `<protocol>:<address>` (cli spec §4.3). Protocol is exactly one of
 * `tcp`, `tcp4`, `tcp6`, `unix`, `npipe`; the address is non-empty and kept verbatim. Throws
 * `MUTAGEN_INVALID_URL` with the bare fragment (`empty URL`, `incorrectly formatted URL`,
 * `invalid protocol: <p>`, `empty address`); URL parsers wrap it in `invalid forwarding endpoint URL: `.
 */
export function parseNetworkEndpoint(text: string): { protocol: NetworkProtocol; address: string } {
  if (text === '') throw urlError('empty URL');
  const colon = text.indexOf(':');
  if (colon < 0) throw urlError('incorrectly formatted URL');
  const name = text.slice(0, colon);
  const protocol = NETWORK_PROTOCOLS.find((candidate) => candidate === name);
  if (protocol === undefined) throw urlError(`invalid protocol: ${name}`);
  const address = text.slice(colon + 1);
  if (address === '') throw urlError('empty address');
  return { protocol, address };
}

/** `parseNetworkEndpoint` with its error wrapped as `invalid forwarding endpoint URL: …`. */
export function parseForwardingEndpoint(text: string): { protocol: NetworkProtocol; address: string } {
  try {
    return parseNetworkEndpoint(text);
  } catch (error) {
    throw urlError(`invalid forwarding endpoint URL: ${error instanceof Error ? error.message : String(error)}`);
  }
}
