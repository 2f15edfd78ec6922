import ssh2, { type ServerHostKeyAlgorithm } from 'ssh2';
import { assertNever, errorMessage, isAbortError, MutagenError } from '../../../base/errors.js';
import type { Logger } from '../../../base/logger.js';
import type { Ask } from './auth.js';
import type { SshHostConfig } from './config.js';
import {
  appendKnownHost, checkHostKey, fingerprint, knownHostsName, knownKeyTypes, readKnownHosts, type KnownHostEntry,
} from './known-hosts.js';

const { utils } = ssh2;

/** ssh2's default host key algorithms, most preferred first. */
const DEFAULT_HOST_KEY_ALGORITHMS: readonly ServerHostKeyAlgorithm[] = [
  'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa',
];

export interface HostKeyCheck {
  /** For ssh2's `hostVerifier` (callback form). */
  verify(key: Buffer, done: (accept: boolean) => void): void;
  /** Why the key was refused, once verify() said no. */
  failure(): MutagenError | undefined;
}

/** The name known_hosts entries are looked up and written under. */
export function hostKeyName(config: SshHostConfig): string {
  return config.hostKeyAlias ?? knownHostsName(config.hostname, config.port);
}

/** Host key algorithms with the types already known for this host first (as OpenSSH orders them). */
export async function preferredHostKeyAlgorithms(config: SshHostConfig): Promise<ServerHostKeyAlgorithm[]> {
  const entries = await readKnownHosts([...config.userKnownHostsFiles, ...config.globalKnownHostsFiles]).catch((): KnownHostEntry[] => []);
  const known: string[] = knownKeyTypes(entries, hostKeyName(config)).flatMap((type) => (type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type]));
  const first = DEFAULT_HOST_KEY_ALGORITHMS.filter((algorithm) => known.includes(algorithm));
  return [...first, ...DEFAULT_HOST_KEY_ALGORITHMS.filter((algorithm) => !first.includes(algorithm))];
}

/**
 * Checks the server's key against known_hosts: a known key passes; a revoked or changed one is
 * always refused; an unknown one follows StrictHostKeyChecking (yes: refuse; accept-new and no:
 * record and accept; ask: ask the user through `ask`, refuse when nobody can be asked).
 */
export function createHostKeyCheck(config: SshHostConfig, ask: Ask | undefined, logger: Logger): HostKeyCheck {
  let failure: MutagenError | undefined;
  return {
    verify(key, done) {
      decide(config, key, ask, logger).then(
        () => done(true),
        (error: unknown) => {
          failure = isAbortError(error) || error instanceof MutagenError ? toMutagen(error)
            : new MutagenError('MUTAGEN_HOST_KEY', `unable to verify the host key of ${hostKeyName(config)}: ${errorMessage(error)}`, { cause: error });
          done(false);
        },
      );
    },
    failure: () => failure,
  };
}

function toMutagen(error: unknown): MutagenError {
  return error instanceof MutagenError ? error : new MutagenError('MUTAGEN_CANCELLED', 'operation cancelled', { cause: error });
}

async function decide(config: SshHostConfig, key: Buffer, ask: Ask | undefined, logger: Logger): Promise<void> {
  const parsed = utils.parseKey(key);
  const keyType: string = parsed instanceof Error ? 'unknown' : parsed.type;
  const name = hostKeyName(config);
  const files = [...config.userKnownHostsFiles, ...config.globalKnownHostsFiles];
  const status = checkHostKey(await readKnownHosts(files), name, keyType, key);
  const print = `${displayType(keyType)} key fingerprint is ${fingerprint(key)}`;
  switch (status.kind) {
    case 'match':
      logger.debug('host key verified', { host: name, file: status.entry.file, line: status.entry.line });
      return;
    case 'revoked':
      throw new MutagenError('MUTAGEN_HOST_KEY', `the host key of ${name} is marked as revoked in ${where(status.entry)} (${print})`, {
        hint: 'The server presents a key you revoked; do not connect. Ask its administrator for the current key.',
      });
    case 'mismatch':
      throw changedKey(config, name, print, status.entry);
    case 'unknown':
      return decideUnknown(config, { name, keyType, key, print, otherTypes: status.otherTypes }, ask, logger);
    default:
      assertNever(status, 'host key status');
  }
}

interface Presented { readonly name: string; readonly keyType: string; readonly key: Buffer; readonly print: string; readonly otherTypes: readonly string[] }

async function decideUnknown(config: SshHostConfig, presented: Presented, ask: Ask | undefined, logger: Logger): Promise<void> {
  const file = config.userKnownHostsFiles[0];
  const record = async (): Promise<void> => {
    if (file === undefined) return;
    await appendKnownHost(file, { name: presented.name, keyType: presented.keyType, key: presented.key, hashed: config.hashKnownHosts });
    logger.info('host key recorded', { host: presented.name, file });
  };
  const mode = config.strictHostKeyChecking;
  if (mode === 'accept-new' || mode === 'no') {
    await record();
    return;
  }
  if (mode === 'ask' && ask !== undefined) {
    if (await confirm(config, presented, ask)) {
      await record();
      return;
    }
    throw new MutagenError('MUTAGEN_HOST_KEY', `host key verification failed for ${presented.name}: not accepted (${presented.print})`);
  }
  const others = presented.otherTypes.length > 0 ? ` (known key types for it: ${presented.otherTypes.join(', ')})` : '';
  throw new MutagenError('MUTAGEN_HOST_KEY', `host key verification failed: the authenticity of host ${presented.name} can't be established: ${presented.print}${others}`, {
    hint: `Check the fingerprint with the server's administrator, then add the key to ${file ?? '~/.ssh/known_hosts'} (for example by connecting once with OpenSSH: ssh ${sshArgs(config)}), or set "StrictHostKeyChecking accept-new" for this host in ~/.ssh/config.`,
  });
}

async function confirm(config: SshHostConfig, presented: Presented, ask: Ask): Promise<boolean> {
  const shown = config.hostname === presented.name ? config.hostname : `${presented.name} (${config.hostname})`;
  let message = `The authenticity of host '${shown}' can't be established.\n${presented.print}.\n`;
  if (presented.otherTypes.length > 0) message += `This host key is known by other types: ${presented.otherTypes.join(', ')}.\n`;
  message += 'Are you sure you want to continue connecting (yes/no/[fingerprint])? ';
  for (let attempt = 0; attempt < 3; attempt++) {
    const answer = (await ask('echo', message)).trim();
    if (answer.toLowerCase() === 'yes' || answer === fingerprint(presented.key)) return true;
    if (answer.toLowerCase() === 'no' || answer === '') return false;
    message = "Please type 'yes', 'no' or the fingerprint: ";
  }
  return false;
}

function changedKey(config: SshHostConfig, name: string, print: string, entry: KnownHostEntry): MutagenError {
  return new MutagenError(
    'MUTAGEN_HOST_KEY',
    `REMOTE HOST IDENTIFICATION HAS CHANGED for ${name}: the server presents a different ${displayType(entry.keyType)} key than the one in ${where(entry)} (${print}); someone could be eavesdropping on you right now (man-in-the-middle attack), or the host key has just been changed`,
    {
      hint: `Refusing to connect. If you are sure the key changed legitimately, remove the old entry (ssh-keygen -R '${name}' -f ${entry.file}) and connect again to accept the new key.`,
    },
  );
}

function where(entry: KnownHostEntry): string {
  return `${entry.file}:${entry.line}`;
}

function sshArgs(config: SshHostConfig): string {
  return `${config.port === 22 ? '' : `-p ${config.port} `}${config.user}@${config.hostname}`;
}

/** ED25519, ECDSA, RSA as OpenSSH prints them. */
function displayType(keyType: string): string {
  if (keyType === 'ssh-ed25519') return 'ED25519';
  if (keyType.startsWith('ecdsa-')) return 'ECDSA';
  if (keyType === 'ssh-rsa' || keyType.startsWith('rsa-')) return 'RSA';
  if (keyType === 'ssh-dss') return 'DSA';
  return keyType.toUpperCase();
}
