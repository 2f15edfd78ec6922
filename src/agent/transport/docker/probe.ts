import path from 'node:path';
import { MutagenError } from '../../../base/errors.js';
import { engineError, engineMessage, engineStatus } from './errors.js';
import { runExec, type ExecContext, type ExecResult } from './exec.js';
import { readFirstMember } from './tar.js';
import { parseEnvHome, parseIdOutput, resolveFromPasswd, splitUserSpec, type ContainerUser } from './user.js';

/**
 * Finds the home directory and uid/gid of the user commands will run as (cli spec §9.3):
 * `env` (HOME) and `id` as that user, both argv-only so a container without a shell works. When a
 * binary is missing (exit 127: distroless or shell-less images), /etc/passwd is read through
 * getArchive instead and resolved as the engine resolves `--user`. A URL user must be the one
 * `id -un` reports (`probed POSIX username does not match specified`).
 */
export async function probeUser(context: ExecContext, user: string | undefined, signal: AbortSignal): Promise<ContainerUser> {
  const request = { ...(user === undefined ? {} : { user }) };
  const [env, id] = await Promise.all([
    runExec(context, { ...request, argv: ['env'] }, signal),
    runExec(context, { ...request, argv: ['id'] }, signal),
  ]);
  checkStarted(env, context);
  checkStarted(id, context);
  const home = env.code === 0 ? parseEnvHome(env.stdout) : undefined;
  const ids = id.code === 0 ? parseIdOutput(id.stdout) : undefined;
  if (ids !== undefined && user !== undefined) checkName(user, ids.name, context);
  if (home !== undefined && ids !== undefined) {
    return ids.name === undefined ? { home, uid: ids.uid, gid: ids.gid } : { home, uid: ids.uid, gid: ids.gid, name: ids.name };
  }
  const spec = user ?? (await defaultUser(context, signal));
  const fromPasswd = resolveFromPasswd(spec, await readPasswd(context, signal));
  return {
    ...fromPasswd,
    ...(home === undefined ? {} : { home }),
    ...(ids === undefined ? {} : { uid: ids.uid, gid: ids.gid }),
  };
}

/** An exec the engine refused for a reason other than a missing binary (unknown user, ...). */
function checkStarted(result: ExecResult, context: ExecContext): void {
  if (result.code !== 126) return;
  throw new MutagenError('MUTAGEN_TRANSPORT', `${context.operation}: ${result.stderr.trim() || 'exec failed (exit 126)'}`, {
    hint: 'Check the user in the docker:// URL exists in the container.',
  });
}

function checkName(user: string, probed: string | undefined, context: ExecContext): void {
  const { user: name } = splitUserSpec(user);
  if (/^\d+$/.test(name) || probed === undefined || probed === name) return;
  throw new MutagenError('MUTAGEN_TRANSPORT', `${context.operation}: probed POSIX username does not match specified (${probed} != ${name})`);
}

async function defaultUser(context: ExecContext, signal: AbortSignal): Promise<string> {
  try {
    const info = await context.container.inspect({ abortSignal: signal });
    return info.Config.User;
  } catch (error) {
    throw engineError(error, context);
  }
}

const PASSWD_LIMIT = 4 * 1024 * 1024;

/** /etc/passwd of the container (following one symlink), or undefined when it has none. */
async function readPasswd(context: ExecContext, signal: AbortSignal): Promise<string | undefined> {
  let file = '/etc/passwd';
  for (let hops = 0; hops < 4; hops += 1) {
    let stream: AsyncIterable<unknown>;
    try {
      stream = await context.container.getArchive({ path: file, abortSignal: signal });
    } catch (error) {
      if (engineStatus(error) === 404 && /could not find the file/i.test(engineMessage(error))) return undefined;
      throw engineError(error, context);
    }
    // Leaving the for-await inside readFirstMember early destroys the response stream.
    const member = await readFirstMember(stream, PASSWD_LIMIT);
    if (member.kind === 'file') return member.content.toString('utf8');
    file = path.posix.resolve(path.posix.dirname(file), member.target);
  }
  return undefined;
}
