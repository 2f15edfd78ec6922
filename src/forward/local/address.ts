import net from 'node:net';
import { MutagenError } from '../../base/errors.js';

/** A parsed local network endpoint (cli spec §4.3). */
export type NetworkAddress =
  | { readonly kind: 'tcp'; readonly family: 0 | 4 | 6; readonly host: string; readonly port: number } // host '' = all interfaces
  | { readonly kind: 'unix'; readonly path: string };

const PORT = /^[0-9]{1,5}$/;
/** Host names and IPv4 literals: letters, digits, `-`, `.`, `_` (no spaces, slashes or colons). */
const HOST_NAME = /^[A-Za-z0-9_.-]+$/;

function invalid(endpoint: string, problem: string, hint?: string): MutagenError {
  return new MutagenError('MUTAGEN_INVALID_URL', `invalid forwarding endpoint "${endpoint}": ${problem}`, hint === undefined ? {} : { hint });
}

/**
 * `tcp:127.0.0.1:80`, `tcp4::80`, `tcp6:[::1]:80`, `unix:/abs/path`. TCP addresses are
 * `host:port` as in Go and Node (`:8080` = all interfaces, IPv6 literals in brackets), ports are
 * decimal 0..65535. Throws MUTAGEN_INVALID_URL with what is wrong (bad port, missing port,
 * relative unix path); `npipe:` → MUTAGEN_UNSUPPORTED. Pure: no I/O.
 */
export function parseNetworkAddress(endpoint: string): NetworkAddress {
  const colon = endpoint.indexOf(':');
  if (colon < 0) throw invalid(endpoint, 'missing protocol (expected tcp:, tcp4:, tcp6: or unix:)');
  const protocol = endpoint.slice(0, colon);
  const address = endpoint.slice(colon + 1);
  switch (protocol) {
    case 'tcp':
      return parseTcp(endpoint, address, 0);
    case 'tcp4':
      return parseTcp(endpoint, address, 4);
    case 'tcp6':
      return parseTcp(endpoint, address, 6);
    case 'unix':
      return parseUnix(endpoint, address);
    case 'npipe':
      throw new MutagenError('MUTAGEN_UNSUPPORTED', 'Windows named pipes not supported on POSIX systems', {
        hint: 'Use a tcp: or unix: endpoint instead.',
      });
    default:
      throw invalid(endpoint, `invalid protocol: ${protocol}`, 'Use one of tcp:, tcp4:, tcp6: or unix:.');
  }
}

function parseUnix(endpoint: string, path: string): NetworkAddress {
  if (path === '') throw invalid(endpoint, 'empty socket path');
  if (path.includes('\0')) throw invalid(endpoint, 'socket path contains a NUL byte');
  if (!path.startsWith('/')) {
    throw invalid(endpoint, `socket path "${path}" is not absolute`, 'Local unix: paths must be absolute here; relative paths are resolved when the URL is parsed.');
  }
  return { kind: 'unix', path };
}

function parseTcp(endpoint: string, address: string, family: 0 | 4 | 6): NetworkAddress {
  if (address === '') throw invalid(endpoint, 'empty address', 'Write host:port, for example 127.0.0.1:8080 or :8080 for all interfaces.');
  const { host, portText, bracketed } = splitHostPort(endpoint, address);
  const port = parsePort(endpoint, portText);
  if (bracketed) {
    if (net.isIPv6(host) === false) throw invalid(endpoint, `"[${host}]" is not an IPv6 address`);
    if (family === 4) throw invalid(endpoint, `tcp4 endpoint with the IPv6 address ${host}`, 'Use tcp6: or tcp: for IPv6 addresses.');
    return { kind: 'tcp', family, host, port };
  }
  if (host !== '' && !HOST_NAME.test(host)) throw invalid(endpoint, `invalid host "${host}"`);
  if (family === 6 && net.isIPv4(host)) throw invalid(endpoint, `tcp6 endpoint with the IPv4 address ${host}`, 'Use tcp4: or tcp: for IPv4 addresses.');
  return { kind: 'tcp', family, host, port };
}

function splitHostPort(endpoint: string, address: string): { host: string; portText: string; bracketed: boolean } {
  if (address.startsWith('[')) {
    const close = address.indexOf(']');
    if (close < 0) throw invalid(endpoint, 'missing "]" in address');
    const rest = address.slice(close + 1);
    if (rest === '') throw invalid(endpoint, 'missing port in address', 'Write [address]:port, for example [::1]:8080.');
    if (!rest.startsWith(':')) throw invalid(endpoint, `unexpected "${rest}" after "]"`);
    return { host: address.slice(1, close), portText: rest.slice(1), bracketed: true };
  }
  const colon = address.lastIndexOf(':');
  if (colon < 0) throw invalid(endpoint, 'missing port in address', 'Write host:port, for example 127.0.0.1:8080 or :8080 for all interfaces.');
  const host = address.slice(0, colon);
  if (host.includes(':')) {
    throw invalid(endpoint, 'too many colons in address', 'Put IPv6 addresses in brackets, for example tcp6:[::1]:8080.');
  }
  return { host, portText: address.slice(colon + 1), bracketed: false };
}

function parsePort(endpoint: string, text: string): number {
  if (text === '') throw invalid(endpoint, 'missing port in address', 'Write host:port, for example 127.0.0.1:8080.');
  const port = PORT.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port > 65_535) {
    throw invalid(endpoint, `invalid port "${text}"`, 'Ports are decimal numbers from 0 to 65535.');
  }
  return port;
}

