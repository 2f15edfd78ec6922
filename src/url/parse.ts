import path from 'node:path';
import type { EndpointUrl } from '../model/url.js';
import { parseForwardingEndpoint, urlError } from './endpoint-grammar.js';
import { isWindowsDrivePath, normalizeLocalPath } from './local-path.js';
import { DOCKER_PREFIX, captureDockerEnvironment, parseDockerUrl, parseScpUrl } from './parse-remote.js';

export { parseNetworkEndpoint } from './endpoint-grammar.js';

/**
 * What URL parsing needs from the CLI process: its working directory (local relative paths), its
 * home (`~`), its environment (Docker variables) and platform (default: this process's).
 */
export interface ParseContext {
  cwd: string;
  home: string;
  env: Readonly<Record<string, string | undefined>>;
  platform?: NodeJS.Platform;
}

const COMPOSE_PREFIXES = ['volume://', 'network://'] as const;

/** [ts] mutagen-compose URL forms are rejected instead of being read as SSH host `volume`. */
function rejectComposeUrl(text: string): void {
  const lower = text.toLowerCase();
  const prefix = COMPOSE_PREFIXES.find((candidate) => lower.startsWith(candidate));
  if (prefix === undefined) return;
  throw urlError(
    `${prefix} URLs need Compose integration (mutagen-compose), which mutagen-ts does not support`,
    'Name the container and the path where the volume is mounted instead, e.g. docker://container/path.',
  );
}

function isDockerUrl(text: string): boolean {
  return text.toLowerCase().startsWith(DOCKER_PREFIX);
}

/** A `:` before the first `/` (or a `:` and no `/`) makes a sync URL SCP-style SSH. */
function isScpSyncUrl(text: string, platform: NodeJS.Platform): boolean {
  if (platform === 'win32' && isWindowsDrivePath(text)) return false;
  const colon = text.indexOf(':');
  if (colon < 0) return false;
  const slash = text.indexOf('/');
  return slash < 0 || colon < slash;
}

function localPath(raw: string, context: ParseContext, what: 'path' | 'socket path'): string {
  try {
    return normalizeLocalPath(raw, { cwd: context.cwd, home: context.home, platform: context.platform ?? process.platform });
  } catch (error) {
    throw urlError(`unable to normalize ${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Parses a sync URL (cli spec §4.1): `docker://…`, SCP-style `[user@]host[:port]:path`, or a
 * local path (tilde-expanded, made absolute against `context.cwd`, cleaned). `side` picks the
 * `MUTAGEN_ALPHA_`/`MUTAGEN_BETA_` Docker variable prefix. Pure apart from reading the passwd
 * database for `~user`. Throws `MUTAGEN_INVALID_URL` whose message is the bare §4 fragment;
 * callers add `unable to parse alpha URL: ` (or their own position context).
 */
export function parseSyncUrl(text: string, side: 'alpha' | 'beta', context: ParseContext): EndpointUrl {
  if (text === '') throw urlError('empty URL');
  rejectComposeUrl(text);
  if (isDockerUrl(text)) {
    const prefix = side === 'alpha' ? 'MUTAGEN_ALPHA_' : 'MUTAGEN_BETA_';
    return parseDockerUrl(text, 'sync', captureDockerEnvironment(context.env, prefix));
  }
  if (isScpSyncUrl(text, context.platform ?? process.platform)) return parseScpUrl(text, 'sync');
  return { kind: 'sync', protocol: 'local', path: localPath(text, context, 'path') };
}

/** Whether `text` is a valid network endpoint as a whole. */
function isNetworkEndpoint(text: string): boolean {
  try {
    parseForwardingEndpoint(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses a forward URL (cli spec §4.3): `docker://[user@]container:<endpoint>`, a local network
 * endpoint (`tcp:…`, `unix:…` with the socket path made absolute on the client), or SCP-style
 * SSH `[user@]host[:port]:<endpoint>`. `side` picks the `MUTAGEN_SOURCE_`/`MUTAGEN_DESTINATION_`
 * prefix. Throws `MUTAGEN_INVALID_URL` with the bare fragment, like `parseSyncUrl`.
 */
export function parseForwardUrl(text: string, side: 'source' | 'destination', context: ParseContext): EndpointUrl {
  if (text === '') throw urlError('empty URL');
  rejectComposeUrl(text);
  if (isDockerUrl(text)) {
    const prefix = side === 'source' ? 'MUTAGEN_SOURCE_' : 'MUTAGEN_DESTINATION_';
    return parseDockerUrl(text, 'forward', captureDockerEnvironment(context.env, prefix));
  }
  if (!isNetworkEndpoint(text) && text.split(':').length - 1 >= 2) return parseScpUrl(text, 'forward');
  const { protocol, address } = parseForwardingEndpoint(text);
  const endpoint = protocol === 'unix' ? `unix:${localPath(address, context, 'socket path')}` : text;
  return { kind: 'forward', protocol: 'local', path: endpoint };
}

/**
 * True when `a` and `b` are the same path or one lies inside the other (used to reject alpha and
 * beta roots that nest). Both must be absolute, as local URL paths are. Windows paths compare
 * case-insensitively.
 */
export function isLocalPathNested(a: string, b: string): boolean {
  const windows = isWindowsDrivePath(a) || isWindowsDrivePath(b) || a.startsWith('\\\\') || b.startsWith('\\\\');
  const p = windows ? path.win32 : path.posix;
  const left = windows ? p.resolve(a).toLowerCase() : p.resolve(a);
  const right = windows ? p.resolve(b).toLowerCase() : p.resolve(b);
  return isInside(p, left, right) || isInside(p, right, left);
}

function isInside(p: path.PlatformPath, parent: string, child: string): boolean {
  const relative = p.relative(parent, child);
  if (relative === '') return true;
  if (p.isAbsolute(relative)) return false;
  return relative !== '..' && !relative.startsWith(`..${p.sep}`);
}
