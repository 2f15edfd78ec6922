import { MutagenError, wrapError } from '../base/errors.js';
import type { ForwardSessionRecord, ForwardSpec } from '../model/session.js';
import type { EndpointUrl } from '../model/url.js';
import { parseNetworkEndpoint } from '../url/endpoint-grammar.js';
import type { ForwardRole, SocketOptions } from './endpoint.js';
import { parseNetworkAddress } from './local/address.js';
import { resolveSocketOptions } from './socket-options.js';

/** The socket options one endpoint of a session runs with: session settings ⊕ the endpoint's overrides. */
export function socketOptionsOf(spec: ForwardSpec | ForwardSessionRecord, role: ForwardRole): SocketOptions {
  return resolveSocketOptions(spec.configuration, role === 'source' ? spec.configurationSource : spec.configurationDestination);
}

function validateEndpoint(url: EndpointUrl, role: ForwardRole, remoteAvailable: boolean): void {
  try {
    if (url.kind !== 'forward') throw new MutagenError('MUTAGEN_INVALID_URL', 'not a forwarding URL');
    if (url.protocol === 'local') {
      // Everything a listener or dialer would reject later (port, relative path, npipe) fails here.
      parseNetworkAddress(url.path);
      return;
    }
    // A remote address is checked by the agent (its `~` and relative paths resolve there).
    parseNetworkEndpoint(url.path);
  } catch (error) {
    throw wrapError(`unable to parse ${role} URL`, error);
  }
  if (!remoteAvailable) {
    throw new MutagenError('MUTAGEN_UNSUPPORTED', `unable to connect to ${role}: ${url.protocol} forwarding endpoints are not available in this process`);
  }
}

/**
 * Rejects a specification that could never run, paused or not, before anything is bound or
 * saved: malformed or unsupported endpoints, socket modes beyond 0777.
 */
export function validateForwardSpec(spec: ForwardSpec, remoteAvailable: boolean): void {
  validateEndpoint(spec.source, 'source', remoteAvailable);
  validateEndpoint(spec.destination, 'destination', remoteAvailable);
  for (const role of ['source', 'destination'] as const) {
    const { permissionMode } = socketOptionsOf(spec, role);
    if (!Number.isInteger(permissionMode) || permissionMode < 0 || permissionMode > 0o777) {
      throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `invalid ${role} socket permission mode: ${permissionMode.toString(8)}`, {
        hint: 'Use an octal mode between 0000 and 0777, such as 0600.',
      });
    }
  }
}
