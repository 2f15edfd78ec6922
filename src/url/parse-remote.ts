import type { EndpointUrl } from '../model/url.js';
import { parseForwardingEndpoint, urlError } from './endpoint-grammar.js';
import { isWindowsDrivePath } from './local-path.js';

type Kind = EndpointUrl['kind'];

/** Splits `[user@]` off: the text before an `@` that precedes the first `stop` character. */
function splitUser(raw: string, stop: string): { user: string; rest: string } {
  for (let i = 0; i < raw.length; i++) {
    const character = raw[i];
    if (character === stop) break;
    if (character === '@') return { user: raw.slice(0, i), rest: raw.slice(i + 1) };
  }
  return { user: '', rest: raw };
}

/** Host up to the next `:`; [ts] a bracketed `[addr]` (IPv6 literal) may contain colons. */
function splitHost(raw: string): { host: string; rest: string } {
  if (raw.startsWith('[')) {
    const close = raw.indexOf(']');
    if (close < 0) throw urlError('unterminated bracketed hostname');
    if (raw[close + 1] !== ':') throw urlError('bracketed hostname must be followed by a colon');
    const host = raw.slice(1, close);
    if (host === '') throw urlError('empty hostname');
    return { host, rest: raw.slice(close + 2) };
  }
  const colon = raw.indexOf(':');
  if (colon === 0) throw urlError('empty hostname');
  if (colon < 0) throw urlError('no hostname present');
  return { host: raw.slice(0, colon), rest: raw.slice(colon + 1) };
}

/** A port is only `<digits>:`; `host:22` means path `22`, `host::p` is an invalid (empty) port. */
function splitPort(raw: string): { port: number; rest: string } {
  const match = /^([0-9]*):/.exec(raw);
  if (match === null) return { port: 0, rest: raw };
  const digits = match[1] as string;
  const port = digits === '' ? Number.NaN : Number(digits);
  if (!(port >= 0 && port <= 65535)) throw urlError('invalid port value specified');
  return { port, rest: raw.slice(match[0].length) };
}

/** SCP-style `[user@]host[:port]:path` (cli spec §4.1); for forward URLs the path is an endpoint. */
export function parseScpUrl(raw: string, kind: Kind): EndpointUrl {
  if (raw.startsWith('@')) throw urlError('empty username specified');
  const { user, rest: afterUser } = splitUser(raw, ':');
  const { host, rest: afterHost } = splitHost(afterUser);
  const { port, rest: path } = splitPort(afterHost);
  if (kind === 'sync' && path === '') throw urlError('empty path');
  if (kind === 'forward') parseForwardingEndpoint(path);
  return {
    kind,
    protocol: 'ssh',
    ...(user === '' ? {} : { user }),
    host,
    ...(port === 0 ? {} : { port }),
    path,
  };
}

export const DOCKER_PREFIX = 'docker://';

/** The seven variables captured from the CLI's environment into Docker URLs (cli spec §4.1). */
export const DOCKER_ENVIRONMENT_VARIABLES = [
  'DOCKER_HOST', 'DOCKER_TLS', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_CONTEXT', 'DOCKER_CONFIG', 'DOCKER_API_VERSION',
] as const;

/**
 * Captures the Docker variables; `<prefix><VAR>` (e.g. `MUTAGEN_ALPHA_DOCKER_HOST`) wins over
 * `<VAR>`. Set-but-empty is captured as empty; unset is absent.
 */
export function captureDockerEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  prefix: string,
): Record<string, string> {
  const captured: Record<string, string> = {};
  for (const name of DOCKER_ENVIRONMENT_VARIABLES) {
    const value = env[`${prefix}${name}`] ?? env[name];
    if (value !== undefined) captured[name] = value;
  }
  return captured;
}

/** The path of a Docker sync URL: `/~…` → `~…`, `/X:\…` → `X:\…`, else kept with its `/`. */
function dockerSyncPath(path: string): string {
  if (path.startsWith('/~')) return path.slice(1);
  if (isWindowsDrivePath(path.slice(1))) return path.slice(1);
  return path;
}

/**
 * `docker://[user@]container/path` (sync) or `docker://[user@]container:<endpoint>` (forward).
 * The caller has checked the prefix (case-insensitively) and supplies the captured environment.
 */
export function parseDockerUrl(raw: string, kind: Kind, environment: Record<string, string>): EndpointUrl {
  const split = kind === 'sync' ? '/' : ':';
  const { user, rest } = splitUser(raw.slice(DOCKER_PREFIX.length), split);
  const index = rest.indexOf(split);
  const container = index < 0 ? rest : rest.slice(0, index);
  if (container === '') throw urlError('empty container name');
  if (index < 0) throw urlError(kind === 'sync' ? 'missing path' : 'missing forwarding endpoint');
  let path = rest.slice(index);
  if (kind === 'sync') path = dockerSyncPath(path);
  else {
    path = path.slice(1);
    parseForwardingEndpoint(path);
  }
  return { kind, protocol: 'docker', ...(user === '' ? {} : { user }), host: container, path, environment };
}
