import { cancelledError } from '../../../base/abort.js';
import { errnoCode, errorMessage, isAbortError, MutagenError } from '../../../base/errors.js';

/**
 * Turns dockerode / docker-modem failures into MutagenErrors. docker-modem rejects with either a
 * socket error (`code` ENOENT, ECONNREFUSED, ...; the engine is unreachable) or an HTTP error
 * carrying `statusCode` and the engine's JSON `{ message }`.
 */
export interface EngineErrorContext {
  /** Fragment naming the operation: `unable to probe container web`. */
  readonly operation: string;
  /** For messages: the engine address (`unix:///var/run/docker.sock`). */
  readonly engine: string;
}

function property(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  const result: unknown = Reflect.get(value, key);
  return result;
}

/** The HTTP status of a docker-modem error, if it came from the engine. */
export function engineStatus(error: unknown): number | undefined {
  const status = property(error, 'statusCode');
  return typeof status === 'number' ? status : undefined;
}

/** The engine's own message (the JSON body), else the error's message; trimmed. */
export function engineMessage(error: unknown): string {
  const message = property(property(error, 'json'), 'message');
  if (typeof message === 'string' && message !== '') return message.trim();
  return errorMessage(error).trim();
}

const UNREACHABLE_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'EPERM', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ENOTSOCK']);

export function isEngineUnreachable(error: unknown): boolean {
  if (engineStatus(error) !== undefined) return false;
  const code = errnoCode(error);
  return code !== undefined && (UNREACHABLE_CODES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('CERT_') || code.includes('SELF_SIGNED'));
}

/** `container does not exist` / `container not running` / `container paused`, else undefined. */
export function containerStateProblem(error: unknown): string | undefined {
  const status = engineStatus(error);
  const message = engineMessage(error);
  if (status === 404 && /no such container/i.test(message)) return 'container does not exist';
  if (/is paused/i.test(message)) return 'container paused';
  if (status === 409 || /is not running|is restarting/i.test(message)) return 'container not running';
  return undefined;
}

export function engineError(error: unknown, context: EngineErrorContext): MutagenError {
  if (error instanceof MutagenError) return error;
  if (isAbortError(error)) return cancelledError();
  if (isEngineUnreachable(error)) {
    return new MutagenError('MUTAGEN_TRANSPORT', `${context.operation}: unable to reach the docker engine at ${context.engine}: ${engineMessage(error)}`, {
      cause: error,
      hint: 'Start the Docker engine, or check DOCKER_HOST / DOCKER_CONTEXT: the values seen when the session was created are the ones used.',
    });
  }
  const problem = containerStateProblem(error);
  if (problem !== undefined) {
    return new MutagenError('MUTAGEN_TRANSPORT', `${context.operation}: ${problem}: ${engineMessage(error)}`, {
      cause: error,
      hint: problem === 'container does not exist' ? 'Check the container name (docker ps -a), or recreate the session.' : 'Start the container (docker start); the session reconnects when it runs.',
    });
  }
  return new MutagenError('MUTAGEN_TRANSPORT', `${context.operation}: docker engine error: ${engineMessage(error)}`, { cause: error });
}
