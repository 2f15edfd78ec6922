import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import path from 'node:path';
import type { DockerOptions } from 'dockerode';
import { MutagenError } from '../../../base/errors.js';

/**
 * Which Docker engine a session talks to, resolved from the seven `DOCKER_*` variables captured
 * in its URL (cli spec §4.1, §9.4) exactly as the docker CLI would: `DOCKER_HOST` first, then
 * `DOCKER_CONTEXT`, then `currentContext` of `$DOCKER_CONFIG/config.json`, else the default
 * socket. Only the captured record is read: the daemon's own `DOCKER_*` variables never apply.
 */
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

export interface DockerTls {
  /** Verify the engine's certificate against `ca` (DOCKER_TLS_VERIFY, or a context without SkipTLSVerify). */
  readonly verify: boolean;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export type DockerEngine =
  | { readonly kind: 'unix'; readonly socketPath: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly tls?: DockerTls };

export interface ResolvedDockerEnvironment {
  readonly engine: DockerEngine;
  /** `default` unless a context (DOCKER_CONTEXT or the current one) picked the endpoint. */
  readonly context: string;
  /** DOCKER_API_VERSION, e.g. `1.41`. */
  readonly apiVersion?: string;
  /** For messages: `unix:///var/run/docker.sock`, `tcp://host:2376 (context prod)`. */
  readonly description: string;
}

export interface ResolveDockerOptions {
  /** Home directory whose `.docker` is the default configuration directory. */
  readonly home: string;
}

type Environment = Readonly<Record<string, string>>;

function nonEmpty(environment: Environment, name: string): string | undefined {
  const value = environment[name];
  return value === undefined || value === '' ? undefined : value;
}

function transportError(message: string, hint: string, cause?: unknown): MutagenError {
  return new MutagenError('MUTAGEN_TRANSPORT', message, cause === undefined ? { hint } : { hint, cause });
}

async function readOptional(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw transportError(`unable to read ${file}`, 'Check the Docker TLS certificate files.', error);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw transportError(`unable to read ${what} ${file}`, 'Check the Docker configuration directory.', error);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw transportError(`invalid ${what} ${file}`, 'Fix or remove the malformed Docker configuration file.', error);
  }
}

/** The directory of a context's metadata and TLS files: the sha256 of its name, in hex. */
export function contextDigest(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

async function currentContext(configDirectory: string): Promise<string | undefined> {
  const config = await readJson(path.join(configDirectory, 'config.json'), 'docker configuration');
  if (config === undefined) return undefined;
  if (!isRecord(config)) throw transportError('invalid docker configuration: not an object', 'Fix the Docker config.json file.');
  const value = config['currentContext'];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

type TlsFiles = Omit<DockerTls, 'verify'>;

async function loadTlsFiles(directory: string): Promise<TlsFiles> {
  const [ca, cert, key] = await Promise.all(['ca.pem', 'cert.pem', 'key.pem'].map((name) => readOptional(path.join(directory, name))));
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined || key === undefined ? {} : { cert, key }),
  };
}

/** Parses a DOCKER_HOST-style address; `tls` is only consulted for tcp. */
export function parseDockerHost(host: string, tls: DockerTls | undefined): DockerEngine {
  const text = host.includes('://') ? host : `tcp://${host}`;
  const scheme = text.slice(0, text.indexOf('://')).toLowerCase();
  if (scheme === 'unix') {
    const socketPath = text.slice('unix://'.length);
    return { kind: 'unix', socketPath: socketPath === '' ? '/var/run/docker.sock' : socketPath };
  }
  if (scheme === 'tcp') {
    let url: URL;
    try {
      url = new URL(text);
    } catch (error) {
      throw transportError(`invalid docker host ${JSON.stringify(host)}`, 'Set DOCKER_HOST to unix:///path or tcp://host:port.', error);
    }
    if (url.hostname === '') throw transportError(`invalid docker host ${JSON.stringify(host)}: empty hostname`, 'Set DOCKER_HOST to tcp://host:port.');
    const port = url.port === '' ? (tls === undefined ? 2375 : 2376) : Number(url.port);
    return { kind: 'tcp', host: url.hostname, port, ...(tls === undefined ? {} : { tls }) };
  }
  throw new MutagenError('MUTAGEN_UNSUPPORTED', `unsupported docker host ${JSON.stringify(host)}: ${scheme}:// is not supported`, {
    hint: 'Use a unix:// or tcp:// Docker host (ssh:// engines are not supported yet); an ssh tunnel to the socket works: ssh -L /tmp/docker.sock:/var/run/docker.sock host.',
  });
}

/** DOCKER_TLS_VERIFY / DOCKER_TLS (any non-empty value enables them, as in the docker CLI). */
async function environmentTls(environment: Environment, configDirectory: string): Promise<DockerTls | undefined> {
  const verify = nonEmpty(environment, 'DOCKER_TLS_VERIFY') !== undefined;
  if (!verify && nonEmpty(environment, 'DOCKER_TLS') === undefined) return undefined;
  const directory = nonEmpty(environment, 'DOCKER_CERT_PATH') ?? configDirectory;
  const files = await loadTlsFiles(directory);
  if (verify && files.ca === undefined) {
    throw transportError(`unable to verify the docker engine: no ca.pem in ${directory}`, 'Set DOCKER_CERT_PATH to the directory holding ca.pem, cert.pem and key.pem.');
  }
  return { verify, ...files };
}

async function contextEngine(name: string, configDirectory: string): Promise<DockerEngine> {
  const digest = contextDigest(name);
  const metaFile = path.join(configDirectory, 'contexts', 'meta', digest, 'meta.json');
  const meta = await readJson(metaFile, 'docker context metadata');
  if (meta === undefined) {
    throw transportError(`docker context ${JSON.stringify(name)} does not exist`, 'Run `docker context ls` to see the contexts, then set DOCKER_CONTEXT (or `docker context use`) and create the session again.');
  }
  const endpoints = isRecord(meta) ? meta['Endpoints'] : undefined;
  const endpoint = isRecord(endpoints) ? endpoints['docker'] : undefined;
  const host = isRecord(endpoint) ? endpoint['Host'] : undefined;
  if (!isRecord(endpoint) || typeof host !== 'string' || host === '') {
    throw transportError(`docker context ${JSON.stringify(name)} has no docker endpoint`, `Fix or recreate the context (metadata: ${metaFile}).`);
  }
  const tlsDirectory = path.join(configDirectory, 'contexts', 'tls', digest, 'docker');
  const files = await loadTlsFiles(tlsDirectory);
  const skipVerify = endpoint['SkipTLSVerify'] === true;
  const hasTls = skipVerify || files.ca !== undefined || files.cert !== undefined;
  return parseDockerHost(host, hasTls ? { verify: !skipVerify, ...files } : undefined);
}

/** Whether the engine is reached without a network: a unix socket (tcp hosts may be anywhere). */
export function engineIsLocal(engine: DockerEngine): boolean {
  return engine.kind === 'unix';
}

export function describeEngine(engine: DockerEngine): string {
  return engine.kind === 'unix' ? `unix://${engine.socketPath}` : `tcp://${engine.host}:${engine.port}`;
}

/**
 * Resolves the engine for a captured environment (absent variable = unset, per §9.4). Reads the
 * Docker configuration directory (DOCKER_CONFIG, else `<home>/.docker`) and TLS files. Errors:
 * MUTAGEN_TRANSPORT (unknown context, unreadable or malformed files), MUTAGEN_UNSUPPORTED
 * (ssh://, npipe://, fd:// hosts).
 */
export async function resolveDockerEnvironment(environment: Environment, options: ResolveDockerOptions): Promise<ResolvedDockerEnvironment> {
  const configDirectory = nonEmpty(environment, 'DOCKER_CONFIG') ?? path.join(options.home, '.docker');
  const apiVersion = nonEmpty(environment, 'DOCKER_API_VERSION');
  if (apiVersion !== undefined && !/^\d+\.\d+$/.test(apiVersion)) {
    throw transportError(`invalid DOCKER_API_VERSION ${JSON.stringify(apiVersion)}`, 'Set DOCKER_API_VERSION to a version such as 1.41, or unset it.');
  }
  const version = apiVersion === undefined ? {} : { apiVersion };
  const host = nonEmpty(environment, 'DOCKER_HOST');
  const context = host === undefined ? (nonEmpty(environment, 'DOCKER_CONTEXT') ?? (await currentContext(configDirectory)) ?? 'default') : 'default';
  if (context === 'default') {
    const engine = parseDockerHost(host ?? DEFAULT_DOCKER_HOST, await environmentTls(environment, configDirectory));
    return { engine, context, ...version, description: describeEngine(engine) };
  }
  const engine = await contextEngine(context, configDirectory);
  return { engine, context, ...version, description: `${describeEngine(engine)} (context ${context})` };
}

/** dockerode options plus the https agent docker-modem accepts but @types/dockerode omits. */
export type EngineOptions = DockerOptions & { readonly agent?: Agent };

/**
 * Options for `new Docker(...)`. Every connection field is set (undefined when unused) because
 * docker-modem merges them over defaults it derives from the daemon's own process.env. TLS
 * without verification needs an agent with `rejectUnauthorized: false` (docker-modem has no flag).
 */
export function dockerodeOptions(resolved: ResolvedDockerEnvironment): EngineOptions {
  const { engine } = resolved;
  const common: DockerOptions = {
    version: resolved.apiVersion === undefined ? undefined : `v${resolved.apiVersion}`,
    timeout: undefined,
    username: undefined,
    sshOptions: undefined,
  };
  if (engine.kind === 'unix') {
    return { ...common, socketPath: engine.socketPath, host: undefined, port: undefined, protocol: 'http', ca: undefined, cert: undefined, key: undefined };
  }
  const tls = engine.tls;
  const connection = { ...common, socketPath: undefined, host: engine.host, port: engine.port, ca: tls?.ca, cert: tls?.cert, key: tls?.key };
  if (tls === undefined) return { ...connection, protocol: 'http' };
  if (tls.verify) return { ...connection, protocol: 'https' };
  const agent = new Agent({ rejectUnauthorized: false, ...(tls.ca === undefined ? {} : { ca: tls.ca }), ...(tls.cert === undefined ? {} : { cert: tls.cert }), ...(tls.key === undefined ? {} : { key: tls.key }) });
  return { ...connection, protocol: 'https', agent };
}
