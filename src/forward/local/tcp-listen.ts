import dns from 'node:dns';
import net from 'node:net';
import { cancelledError } from '../../base/abort.js';
import { errnoCode, isAbortError } from '../../base/errors.js';
import type { NetworkAddress } from './address.js';
import { hasCode, listenFailure, listenOn } from './bind.js';
import { describeSocketError } from './socket-errors.js';

type TcpAddress = Extract<NetworkAddress, { kind: 'tcp' }>;

interface BindTarget {
  readonly host: string;
  readonly ipv6Only: boolean;
}

/**
 * Where a TCP endpoint binds (cli spec §8.3): an empty host is every interface (`tcp` dual stack
 * on `::`, falling back to `0.0.0.0` without IPv6; `tcp4` `0.0.0.0`; `tcp6` `::` IPv6 only); an
 * IP literal is itself; a name resolves to its FIRST IPv4 address (as upstream does, not Node's
 * order), or its first IPv6 address when it has none (`tcp4`/`tcp6` look up that family only).
 */
async function bindTargets(address: TcpAddress, signal: AbortSignal): Promise<readonly BindTarget[]> {
  const { host, family } = address;
  if (host === '') {
    if (family === 4) return [{ host: '0.0.0.0', ipv6Only: false }];
    if (family === 6) return [{ host: '::', ipv6Only: true }];
    return [{ host: '::', ipv6Only: false }, { host: '0.0.0.0', ipv6Only: false }];
  }
  if (net.isIP(host) !== 0) return [{ host, ipv6Only: family === 6 }];
  const families: readonly (4 | 6)[] = family === 0 ? [4, 6] : [family];
  let lastError: unknown;
  for (const candidate of families) {
    try {
      const found = await dns.promises.lookup(host, { family: candidate, all: true });
      if (signal.aborted) throw cancelledError();
      const first = found[0];
      if (first !== undefined) return [{ host: first.address, ipv6Only: family === 6 }];
    } catch (error) {
      if (signal.aborted) throw cancelledError();
      lastError = error;
    }
  }
  const which = family === 0 ? 'an address' : `an IPv${family} address`;
  throw listenFailure(`unable to resolve host "${host}" to ${which}: ${describeSocketError(lastError)}`, 'Check the host name, or use an IP address such as 127.0.0.1.', lastError);
}

/** Binds `server` to the TCP endpoint; resolves with the bound host and port. Errors are MUTAGEN_FORWARD_LISTEN reasons. */
export async function bindTcp(server: net.Server, address: TcpAddress, signal: AbortSignal): Promise<{ host: string; port: number }> {
  const targets = await bindTargets(address, signal);
  let lastError: unknown;
  for (const target of targets) {
    try {
      await listenOn(server, { host: target.host, port: address.port, ipv6Only: target.ipv6Only }, signal);
      const bound = server.address();
      const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
      return { host: target.host, port };
    } catch (error) {
      if (isAbortError(error)) throw error;
      // Only the dual-stack wildcard falls back (to 0.0.0.0) on a host without IPv6.
      const fallback = target !== targets.at(-1) && hasCode(error, 'EAFNOSUPPORT', 'EADDRNOTAVAIL');
      if (!fallback) throw explainTcpError(error, target.host, address.port);
      lastError = error;
    }
  }
  throw explainTcpError(lastError, '', address.port);
}

function explainTcpError(error: unknown, host: string, port: number): unknown {
  const where = host === '' || host === '::' || host === '0.0.0.0' ? 'all interfaces' : host;
  switch (errnoCode(error)) {
    case 'EADDRINUSE':
      return listenFailure(`port ${port} is already in use (on ${where})`, `Another program listens on port ${port}; stop it, or choose another port.`, error);
    case 'EACCES':
      if (port > 0 && port < 1024) {
        return listenFailure(
          `permission denied: port ${port} is a privileged port (below 1024)`,
          'Binding ports below 1024 needs root or the CAP_NET_BIND_SERVICE capability; use a port of 1024 or above.',
          error,
        );
      }
      return listenFailure(`permission denied binding port ${port} on ${where}`, undefined, error);
    case 'EADDRNOTAVAIL':
      return listenFailure(`address ${host} is not assigned to any interface of this host`, 'Use 127.0.0.1, an address of this host, or an empty host (:PORT) for all interfaces.', error);
    default:
      return listenFailure(describeSocketError(error), undefined, error);
  }
}
