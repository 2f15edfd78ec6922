import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MutagenError } from '../../../base/errors.js';
import { readConfigFile } from './config-file.js';

/** Where to connect, as written in the URL (`[user@]host[:port]:path`). */
export interface SshEndpoint {
  readonly user?: string;
  readonly host: string;
  /** 0 or absent = the configured port (default 22). */
  readonly port?: number;
}

export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'no' | 'ask';

/** One host's effective settings: ~/.ssh/config (+ /etc/ssh/ssh_config) applied to a URL. */
export interface SshHostConfig {
  /** The host as written in the URL (an alias or a name). */
  readonly alias: string;
  readonly hostname: string;
  readonly port: number;
  readonly user: string;
  /** Absolute paths, tokens expanded; files may not exist (they are skipped). */
  readonly identityFiles: readonly string[];
  readonly identitiesOnly: boolean;
  /** Agent socket path, or undefined when there is none (`IdentityAgent none`, no SSH_AUTH_SOCK). */
  readonly identityAgent: string | undefined;
  /** Jump hosts in order (first = connected to first); empty = direct. */
  readonly proxyJump: readonly SshEndpoint[];
  /** `sh -c` command (tokens expanded) whose stdio carries the connection; wins over proxyJump when set. */
  readonly proxyCommand: string | undefined;
  readonly userKnownHostsFiles: readonly string[];
  readonly globalKnownHostsFiles: readonly string[];
  readonly hostKeyAlias: string | undefined;
  readonly strictHostKeyChecking: StrictHostKeyChecking;
  readonly hashKnownHosts: boolean;
  readonly connectTimeoutMs: number;
  readonly batchMode: boolean;
  /** ServerAliveInterval (default 10 s, 0 = off) and ServerAliveCountMax (default 3). */
  readonly keepaliveIntervalMs: number;
  readonly keepaliveCountMax: number;
}

export interface ResolveOptions {
  /** Whose ~/.ssh: `~` and `%d` expand to it. */
  readonly home: string;
  /** Default remote user and `%u` (default: the OS user). */
  readonly localUser?: string;
  /** For SSH_AUTH_SOCK, MUTAGEN_SSH_CONNECT_TIMEOUT and `${VAR}` (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The system-wide file read after the user's; null = none. Default /etc/ssh/ssh_config. */
  readonly systemConfigFile?: string | null;
  /** For a jump host: `ProxyJump` as if given on the command line (it wins over the file). */
  readonly proxyJumpOverride?: readonly SshEndpoint[];
}

/** Keepalive unless ServerAliveInterval / ServerAliveCountMax say otherwise. */
export const DEFAULT_KEEPALIVE_SECONDS = 10;
/** Used when neither ConnectTimeout nor MUTAGEN_SSH_CONNECT_TIMEOUT is set (Mutagen's default). */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 5;
const DEFAULT_IDENTITY_FILES = ['~/.ssh/id_ed25519', '~/.ssh/id_ecdsa', '~/.ssh/id_rsa'];

type Computed = Record<string, string | string[]>;

/**
 * Resolves what OpenSSH would use for `target`: the user's ~/.ssh/config then the system
 * config, first value wins, URL user/port override both (like OpenSSH's command line).
 * Connect timeout precedence: ConnectTimeout in the config, else MUTAGEN_SSH_CONNECT_TIMEOUT,
 * else 5 s. `Match exec` is not evaluated (it would block the daemon and run commands).
 * Throws MUTAGEN_TRANSPORT for unreadable files or bad values.
 */
export async function resolveSshConfig(target: SshEndpoint, options: ResolveOptions): Promise<SshHostConfig> {
  const env = options.env ?? process.env;
  const localUser = options.localUser ?? os.userInfo().username;
  const config = await readConfigFile(path.join(options.home, '.ssh/config'), {
    host: target.host, includeBase: path.join(options.home, '.ssh'), home: options.home,
  });
  const systemFile = options.systemConfigFile === undefined ? '/etc/ssh/ssh_config' : options.systemConfigFile;
  if (systemFile !== null) {
    config.push(...await readConfigFile(systemFile, { host: target.host, includeBase: path.dirname(systemFile), home: options.home }));
  }
  const computed: Computed = config.compute(
    target.user === undefined ? { Host: target.host } : { Host: target.host, User: target.user },
    { ignoreCase: true, matchExec: false },
  );
  const first = (key: string): string | undefined => {
    const value = computed[key];
    return Array.isArray(value) ? value[0] : value;
  };
  const all = (key: string): string[] | undefined => {
    const value = computed[key];
    return value === undefined ? undefined : Array.isArray(value) ? value : value.split(/\s+/).filter((v) => v !== '');
  };
  const alias = target.host;
  const hostname = expandTokens(first('hostname') ?? alias, { n: alias, h: alias, '%': '%' }, 'HostName');
  const port = target.port !== undefined && target.port !== 0 ? target.port : parsePort(first('port') ?? '22', 'Port');
  const user = first('user') ?? localUser;
  const tokens = tokenTable({ alias, hostname, port, user, localUser, home: options.home, hostKeyAlias: first('hostkeyalias') });
  const pathOf = (value: string, what: string): string => expandPath(expandTokens(value, tokens, what), options.home, env);
  const listed = all('identityfile');
  const identityFiles = (listed ?? DEFAULT_IDENTITY_FILES).map((file) => pathOf(file, 'IdentityFile'));
  return {
    alias, hostname, port, user, identityFiles,
    identitiesOnly: parseFlag(first('identitiesonly'), false, 'IdentitiesOnly'),
    identityAgent: agentPath(first('identityagent'), env, (value) => pathOf(value, 'IdentityAgent')),
    ...proxySettings(computed, options.proxyJumpOverride, (command) => expandTokens(command, tokens, 'ProxyCommand')),
    userKnownHostsFiles: knownHostsFiles(all('userknownhostsfile'), ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'], (v) => pathOf(v, 'UserKnownHostsFile')),
    globalKnownHostsFiles: knownHostsFiles(all('globalknownhostsfile'), ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'], (v) => pathOf(v, 'GlobalKnownHostsFile')),
    hostKeyAlias: first('hostkeyalias'),
    strictHostKeyChecking: parseStrict(first('stricthostkeychecking')),
    hashKnownHosts: parseFlag(first('hashknownhosts'), false, 'HashKnownHosts'),
    connectTimeoutMs: connectTimeout(first('connecttimeout'), env['MUTAGEN_SSH_CONNECT_TIMEOUT']),
    batchMode: parseFlag(first('batchmode'), false, 'BatchMode'),
    keepaliveIntervalMs: parseCount(first('serveraliveinterval') ?? String(DEFAULT_KEEPALIVE_SECONDS), 'ServerAliveInterval') * 1000,
    keepaliveCountMax: parseCount(first('serveralivecountmax') ?? '3', 'ServerAliveCountMax'),
  };
}

/**
 * Whether a host name or address never leaves this machine: `localhost` (any case, optional
 * trailing dot), 127.0.0.0/8, ::1 (any spelling, brackets allowed) and IPv4-mapped 127.x.
 */
export function isLoopbackHost(host: string): boolean {
  let name = host.trim().toLowerCase();
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  if (name === 'localhost' || name === 'localhost.') return true;
  if (isIPv4(name)) return name.startsWith('127.');
  if (!isIPv6(name)) return false;
  let canonical: string;
  try {
    canonical = new URL(`http://[${name}]/`).hostname; // WHATWG serialization: compressed, lower case
  } catch {
    return false; // e.g. a zone index (fe80::1%eth0): never loopback
  }
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

/**
 * Whether the connection for `config` stays on this machine: a loopback HostName (after config
 * resolution) reached directly, without ProxyJump or ProxyCommand (either could go anywhere).
 * Decides the default wire compression (none on a local link).
 */
export function sshLinkIsLocal(config: Pick<SshHostConfig, 'hostname' | 'proxyJump' | 'proxyCommand'>): boolean {
  return config.proxyCommand === undefined && config.proxyJump.length === 0 && isLoopbackHost(config.hostname);
}

function proxySettings(computed: Computed, override: readonly SshEndpoint[] | undefined, expand: (command: string) => string): { proxyJump: SshEndpoint[]; proxyCommand: string | undefined } {
  if (override !== undefined) return { proxyJump: [...override], proxyCommand: undefined };
  const keys = Object.keys(computed);
  const jumpIndex = keys.indexOf('proxyjump');
  const commandIndex = keys.indexOf('proxycommand');
  // Whichever of ProxyJump / ProxyCommand appears first wins (compute() keeps first-seen order).
  if (commandIndex >= 0 && (jumpIndex < 0 || commandIndex < jumpIndex)) {
    const raw = computed['proxycommand'];
    const command = Array.isArray(raw) ? raw.join(' ') : raw ?? '';
    return { proxyJump: [], proxyCommand: command === 'none' ? undefined : expand(command) };
  }
  const raw = computed['proxyjump'];
  const jump = Array.isArray(raw) ? raw.join(',') : raw;
  if (jump === undefined || jump === 'none') return { proxyJump: [], proxyCommand: undefined };
  return { proxyJump: jump.split(',').map((spec) => parseJump(spec.trim())), proxyCommand: undefined };
}

/** `[user@]host[:port]`, `[user@][v6addr]:port` or `ssh://[user@]host[:port]`. */
export function parseJump(spec: string): SshEndpoint {
  let rest = spec.startsWith('ssh://') ? spec.slice(6) : spec;
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  const at = rest.lastIndexOf('@');
  const user = at >= 0 ? rest.slice(0, at) : undefined;
  rest = at >= 0 ? rest.slice(at + 1) : rest;
  let host = rest;
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (bracketed !== null) {
    host = bracketed[1] ?? '';
    if (bracketed[2] !== undefined) port = parsePort(bracketed[2], 'ProxyJump');
  } else if (rest.includes(':')) {
    const colon = rest.lastIndexOf(':');
    host = rest.slice(0, colon);
    port = parsePort(rest.slice(colon + 1), 'ProxyJump');
  }
  if (host === '' || user === '') throw invalid('ProxyJump', spec);
  return { host, ...(user === undefined ? {} : { user }), ...(port === undefined ? {} : { port }) };
}

interface TokenInput {
  readonly alias: string; readonly hostname: string; readonly port: number; readonly user: string;
  readonly localUser: string; readonly home: string; readonly hostKeyAlias: string | undefined;
}

function tokenTable(input: TokenInput): Record<string, string> {
  const local = os.hostname();
  return {
    '%': '%', h: input.hostname, n: input.alias, p: String(input.port), r: input.user, u: input.localUser,
    d: input.home, l: local.split('.')[0] ?? local, L: local.split('.')[0] ?? local,
    i: String(typeof process.getuid === 'function' ? process.getuid() : 0),
    k: input.hostKeyAlias ?? input.alias,
    C: createHash('sha1').update(`${local}${input.hostname}${input.port}${input.user}`).digest('hex'),
  };
}

/** `%x` tokens (ssh_config(5) TOKENS); an unknown token is an error, as in OpenSSH. */
export function expandTokens(value: string, tokens: Readonly<Record<string, string>>, what: string): string {
  return value.replace(/%(.)/g, (_match, key: string) => {
    const replacement = tokens[key];
    if (replacement === undefined) {
      throw new MutagenError('MUTAGEN_TRANSPORT', `invalid ssh config: unknown token %${key} in ${what}`, {
        hint: `Remove or escape (%%) the token in the ${what} setting of your ssh config.`,
      });
    }
    return replacement;
  });
}

function expandPath(value: string, home: string, env: Readonly<Record<string, string | undefined>>): string {
  let result = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
    const variable = env[name];
    if (variable === undefined) throw new MutagenError('MUTAGEN_TRANSPORT', `invalid ssh config: environment variable ${name} is not set`);
    return variable;
  });
  if (result === '~' || result.startsWith('~/')) result = path.join(home, result.slice(1));
  return path.isAbsolute(result) ? result : path.join(home, '.ssh', result);
}

function agentPath(value: string | undefined, env: Readonly<Record<string, string | undefined>>, toPath: (value: string) => string): string | undefined {
  if (value === 'none') return undefined;
  if (value === undefined || value === 'SSH_AUTH_SOCK') {
    const socket = env['SSH_AUTH_SOCK'];
    return socket === undefined || socket === '' ? undefined : socket;
  }
  if (/^\$[A-Za-z_][A-Za-z0-9_]*$/.test(value)) {
    const socket = env[value.slice(1)];
    return socket === undefined || socket === '' ? undefined : socket;
  }
  return toPath(value);
}

function knownHostsFiles(listed: string[] | undefined, defaults: readonly string[], toPath: (value: string) => string): string[] {
  if (listed !== undefined && listed.length === 1 && listed[0] === 'none') return [];
  return (listed ?? defaults).map(toPath);
}

function connectTimeout(configured: string | undefined, fromEnv: string | undefined): number {
  if (configured !== undefined && configured !== 'none') return parseSeconds(configured, 'ConnectTimeout');
  if (fromEnv !== undefined && fromEnv !== '') return parseSeconds(fromEnv, 'MUTAGEN_SSH_CONNECT_TIMEOUT');
  return DEFAULT_CONNECT_TIMEOUT_SECONDS * 1000;
}

function parseSeconds(value: string, what: string): number {
  if (!/^\d+$/.test(value) || Number(value) === 0) throw invalid(what, value);
  return Number(value) * 1000;
}

function parseCount(value: string, what: string): number {
  if (!/^\d+$/.test(value)) throw invalid(what, value);
  return Number(value);
}

function parsePort(value: string, what: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65_535) throw invalid(what, value);
  return port;
}

function parseFlag(value: string | undefined, fallback: boolean, what: string): boolean {
  if (value === undefined) return fallback;
  switch (value.toLowerCase()) {
    case 'yes': case 'true': return true;
    case 'no': case 'false': return false;
    default: throw invalid(what, value);
  }
}

function parseStrict(value: string | undefined): StrictHostKeyChecking {
  switch (value?.toLowerCase()) {
    case undefined: case 'ask': return 'ask';
    case 'yes': case 'true': return 'yes';
    case 'no': case 'off': case 'false': return 'no';
    case 'accept-new': return 'accept-new';
    default: throw invalid('StrictHostKeyChecking', value ?? '');
  }
}

function invalid(what: string, value: string): MutagenError {
  return new MutagenError('MUTAGEN_TRANSPORT', `invalid ssh config: bad ${what} value "${value}"`, {
    hint: `Fix the ${what} setting in your ssh config (see ssh_config(5)).`,
  });
}
