import { readFile } from 'node:fs/promises';
import ssh2, { type AnyAuthMethod, type AuthHandlerMiddleware, type AuthenticationType, type KeyboardInteractiveCallback, type ParsedKey, type Prompt, type PublicKeyEntry } from 'ssh2';
import { errnoCode, errorMessage, isAbortError } from '../../../base/errors.js';
import type { Logger } from '../../../base/logger.js';
import type { SshHostConfig } from './config.js';

const { BaseAgent, OpenSSHAgent, utils } = ssh2;

/** Asks the user; undefined when nobody can be asked (no prompter, BatchMode). */
export type Ask = (kind: 'echo' | 'secret', message: string) => Promise<string>;

/** What was tried, for the "permission denied" message. */
export interface AuthReport {
  readonly tried: readonly string[];
  readonly notes: readonly string[];
}

export interface AuthSequence {
  readonly handler: AuthHandlerMiddleware;
  report(): AuthReport;
}

const PASSWORD_ATTEMPTS = 3;

/** One private key, ready or not. */
type Identity =
  | { readonly file: string; readonly kind: 'key'; readonly key: ParsedKey }
  | { readonly file: string; readonly kind: 'encrypted'; readonly data: Buffer };

/**
 * The authentication order: the agent (only keys matching IdentityFile with IdentitiesOnly),
 * then each existing IdentityFile (encrypted ones need `ask`), then keyboard-interactive and
 * password when `ask` exists. Each step is offered only if the server still allows it.
 */
export async function prepareAuth(config: SshHostConfig, ask: Ask | undefined, logger: Logger): Promise<AuthSequence> {
  const tried: string[] = [];
  const notes: string[] = [];
  const identities = await loadIdentities(config.identityFiles, notes);
  const agent = config.identityAgent === undefined ? undefined
    : new ReportingAgent(config.identityAgent, config.identitiesOnly ? await publicKeys(identities) : undefined, notes);
  const steps: ((left: readonly AuthenticationType[] | null) => Promise<AnyAuthMethod | undefined>)[] = [];
  const username = config.user;
  if (agent !== undefined) {
    steps.push((left) => Promise.resolve(allowed(left, 'publickey') ? (tried.push(`agent ${config.identityAgent ?? ''}`), { type: 'agent', username, agent }) : undefined));
  }
  for (const identity of identities) {
    steps.push(async (left) => {
      if (!allowed(left, 'publickey')) return undefined;
      const key = identity.kind === 'key' ? identity.key : await unlock(identity, ask, notes);
      if (key === undefined) return undefined;
      tried.push(identity.file);
      return { type: 'publickey', username, key };
    });
  }
  if (ask !== undefined) {
    steps.push((left) => Promise.resolve(allowed(left, 'keyboard-interactive')
      ? (tried.push('keyboard-interactive'), { type: 'keyboard-interactive', username, prompt: interactive(ask, logger) })
      : undefined));
    for (let attempt = 0; attempt < PASSWORD_ATTEMPTS; attempt++) {
      steps.push(async (left) => {
        if (!allowed(left, 'password')) return undefined;
        const password = await ask('secret', `${username}@${config.hostname}'s password: `);
        if (attempt === 0) tried.push('password');
        return { type: 'password', username, password };
      });
    }
  }
  let index = 0;
  const handler: AuthHandlerMiddleware = (left, _partial, next) => {
    void (async () => {
      while (index < steps.length) {
        const step = steps[index++];
        const method = await step?.(left);
        if (method !== undefined) return method;
      }
      return undefined;
    })().then(
      (method) => next(method ?? falseMethod()),
      (error: unknown) => {
        if (!isAbortError(error)) notes.push(`authentication step failed: ${errorMessage(error)}`);
        index = steps.length;
        next(falseMethod());
      },
    );
  };
  return { handler, report: () => ({ tried: [...tried], notes: [...notes] }) };
}

/** ssh2 takes `false` for "no more methods" although its types do not say so. */
function falseMethod(): AnyAuthMethod {
  return false as unknown as AnyAuthMethod;
}

function allowed(left: readonly AuthenticationType[] | null, method: AuthenticationType): boolean {
  return left === null || left.includes(method);
}

async function loadIdentities(files: readonly string[], notes: string[]): Promise<Identity[]> {
  const identities: Identity[] = [];
  for (const file of files) {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') notes.push(`${file}: ${errnoCode(error) ?? errorMessage(error)}`);
      continue;
    }
    const parsed = firstKey(utils.parseKey(data));
    if (parsed instanceof Error) {
      if (/passphrase|encrypted/i.test(parsed.message)) identities.push({ file, kind: 'encrypted', data });
      else notes.push(`${file}: not a usable private key (${parsed.message})`);
      continue;
    }
    if (!parsed.isPrivateKey()) {
      notes.push(`${file}: not a private key`);
      continue;
    }
    identities.push({ file, kind: 'key', key: parsed });
  }
  return identities;
}

function firstKey(parsed: ParsedKey | ParsedKey[] | Error): ParsedKey | Error {
  if (Array.isArray(parsed)) return parsed[0] ?? new Error('no key in file');
  return parsed;
}

async function unlock(identity: Identity & { kind: 'encrypted' }, ask: Ask | undefined, notes: string[]): Promise<ParsedKey | undefined> {
  if (ask === undefined) {
    notes.push(`${identity.file}: encrypted, skipped (no passphrase prompt available)`);
    return undefined;
  }
  for (let attempt = 0; attempt < PASSWORD_ATTEMPTS; attempt++) {
    const passphrase = await ask('secret', `Enter passphrase for key '${identity.file}': `);
    if (passphrase === '') break;
    const parsed = firstKey(utils.parseKey(identity.data, passphrase));
    if (!(parsed instanceof Error)) return parsed;
  }
  notes.push(`${identity.file}: encrypted, no valid passphrase given`);
  return undefined;
}

/** Public halves of the identities, for IdentitiesOnly filtering (encrypted ones via `.pub`). */
async function publicKeys(identities: readonly Identity[]): Promise<ParsedKey[]> {
  const keys: ParsedKey[] = [];
  for (const identity of identities) {
    if (identity.kind === 'key') {
      keys.push(identity.key);
      continue;
    }
    try {
      const parsed = firstKey(utils.parseKey(await readFile(`${identity.file}.pub`)));
      if (!(parsed instanceof Error)) keys.push(parsed);
    } catch {
      // No .pub beside an encrypted key: it cannot be matched against agent keys.
    }
  }
  return keys;
}

function interactive(ask: Ask, logger: Logger) {
  return (_name: string, instructions: string, _lang: string, prompts: Prompt[], finish: KeyboardInteractiveCallback): void => {
    void (async () => {
      const answers: string[] = [];
      for (const [index, prompt] of prompts.entries()) {
        const message = index === 0 && instructions !== '' ? `${instructions}\n${prompt.prompt}` : prompt.prompt;
        answers.push(await ask(prompt.echo === true ? 'echo' : 'secret', message));
      }
      return answers;
    })().then(finish, (error: unknown) => {
      logger.debug('keyboard-interactive prompt failed', { error: errorMessage(error) });
      finish([]);
    });
  };
}

function agentKey(entry: ParsedKey | PublicKeyEntry): ParsedKey | undefined {
  const raw = 'pubKey' in entry ? ('pubKey' in entry.pubKey ? entry.pubKey.pubKey : entry.pubKey) : entry;
  const parsed = firstKey(utils.parseKey(raw));
  return parsed instanceof Error ? undefined : parsed;
}

/**
 * The agent as ssh2 sees it: lists the agent's keys (only those in `only` when set), and turns
 * an unreachable agent into a note instead of a connection error.
 */
class ReportingAgent extends BaseAgent<ParsedKey> {
  private readonly inner: InstanceType<typeof OpenSSHAgent>;

  constructor(socket: string, private readonly only: readonly ParsedKey[] | undefined, private readonly notes: string[]) {
    super();
    this.inner = new OpenSSHAgent(socket);
  }

  getIdentities(cb: (error: Error | undefined, keys?: ParsedKey[]) => void): void {
    this.inner.getIdentities((error, keys) => {
      if (error !== undefined && error !== null) {
        this.notes.push(`agent: ${error.message}`);
        cb(undefined, []);
        return;
      }
      const all = (keys ?? []).map(agentKey).filter((key): key is ParsedKey => key !== undefined);
      const only = this.only;
      const offered = only === undefined ? all : all.filter((key) => only.some((wanted) => key.equals(wanted.getPublicSSH())));
      this.notes.push(`agent: ${offered.length} of ${all.length} keys offered`);
      cb(undefined, offered);
    });
  }

  sign(key: ParsedKey, data: Buffer, options: object, cb?: (error: Error | undefined, signature?: Buffer) => void): void {
    this.inner.sign(key, data, options, (error, signature) => cb?.(error ?? undefined, signature));
  }
}
