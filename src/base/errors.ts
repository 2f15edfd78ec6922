/**
 * Typed errors with stable codes. Codes are never renamed once released; tests assert them.
 * Messages are lowercase fragments that chain (`unable to connect to beta: …`); hints are full
 * sentences that say what to do.
 */
export const ERROR_CODES = [
  'MUTAGEN_INTERNAL',
  'MUTAGEN_CANCELLED',
  'MUTAGEN_INVALID_ARGUMENT',
  'MUTAGEN_INVALID_URL',
  'MUTAGEN_INVALID_NAME',
  'MUTAGEN_INVALID_LABEL',
  'MUTAGEN_INVALID_SELECTION',
  'MUTAGEN_INVALID_CONFIGURATION',
  'MUTAGEN_INVALID_IGNORE',
  'MUTAGEN_CONFIG',
  'MUTAGEN_NOT_FOUND',
  'MUTAGEN_SESSION_PAUSED',
  'MUTAGEN_SESSION_UNAVAILABLE',
  'MUTAGEN_SESSION_FAILED',
  'MUTAGEN_DAEMON_UNREACHABLE',
  'MUTAGEN_DAEMON_LOCKED',
  'MUTAGEN_VERSION_MISMATCH',
  'MUTAGEN_PROTOCOL',
  'MUTAGEN_TRANSPORT',
  'MUTAGEN_HOST_KEY',
  'MUTAGEN_AUTHENTICATION',
  'MUTAGEN_AGENT',
  'MUTAGEN_ENDPOINT',
  'MUTAGEN_SCAN_RETRY',
  'MUTAGEN_SCAN',
  'MUTAGEN_STAGING',
  'MUTAGEN_TRANSITION',
  'MUTAGEN_ARCHIVE',
  'MUTAGEN_CORRUPT_RECORD',
  'MUTAGEN_PROJECT',
  'MUTAGEN_HOOK_FAILED',
  'MUTAGEN_UNSUPPORTED',
  'MUTAGEN_FORWARD_LISTEN',
  'MUTAGEN_FORWARD_DIAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface MutagenErrorOptions {
  readonly cause?: unknown;
  readonly hint?: string;
}

/** The base of every error we raise on purpose. `known` errors print without a stack. */
export class MutagenError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: MutagenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MutagenError';
    this.code = code;
    this.hint = options.hint;
  }
}

/** A mutagen.yml problem at a position: `file:line:col: key.path: problem`. */
export class ConfigError extends MutagenError {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly keyPath: string;
  readonly problem: string;

  constructor(at: { file: string; line: number; col: number; keyPath: string }, problem: string, options: MutagenErrorOptions = {}) {
    const key = at.keyPath === '' ? '' : `${at.keyPath}: `;
    super('MUTAGEN_CONFIG', `${at.file}:${at.line}:${at.col}: ${key}${problem}`, options);
    this.name = 'ConfigError';
    this.file = at.file;
    this.line = at.line;
    this.col = at.col;
    this.keyPath = at.keyPath;
    this.problem = problem;
  }
}

export class TransportError extends MutagenError {
  constructor(message: string, options: MutagenErrorOptions = {}) {
    super('MUTAGEN_TRANSPORT', message, options);
    this.name = 'TransportError';
  }
}

export class ProtocolError extends MutagenError {
  constructor(message: string, options: MutagenErrorOptions = {}) {
    super('MUTAGEN_PROTOCOL', message, options);
    this.name = 'ProtocolError';
  }
}

export class SessionError extends MutagenError {
  constructor(code: ErrorCode, message: string, options: MutagenErrorOptions = {}) {
    super(code, message, options);
    this.name = 'SessionError';
  }
}

/** Wraps `cause` with an outer context fragment, keeping the code of a known cause. */
export function wrapError(context: string, cause: unknown, code?: ErrorCode): MutagenError {
  const inner = cause instanceof MutagenError ? cause : undefined;
  return new MutagenError(code ?? inner?.code ?? 'MUTAGEN_INTERNAL', `${context}: ${errorMessage(cause)}`, {
    cause,
    ...(inner?.hint === undefined ? {} : { hint: inner.hint }),
  });
}

/** `error` itself when it is an Error, else an Error carrying its text (for rejections and destroy()). */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The message of anything thrown, without a stack. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

export function isMutagenError(error: unknown): error is MutagenError {
  return error instanceof MutagenError;
}

/** True for an AbortSignal abort (ours or node's AbortError). Cancellation is not failure. */
export function isAbortError(error: unknown): boolean {
  if (error instanceof MutagenError) return error.code === 'MUTAGEN_CANCELLED';
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: unknown }).code === 'ABORT_ERR');
}

/** node:fs error code, if any. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export function assertNever(value: never, what = 'value'): never {
  throw new MutagenError('MUTAGEN_INTERNAL', `unexpected ${what}: ${JSON.stringify(value)}`);
}
