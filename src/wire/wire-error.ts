import { z } from 'zod';
import type { ErrorCode } from '../base/errors.js';
import { isAbortError, MutagenError } from '../base/errors.js';

/** An error as it crosses the wire: code, message and hint, never a stack. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly hint?: string;
}

/** Longest message or hint accepted from (or sent to) a peer, in characters. */
export const MAX_WIRE_ERROR_TEXT = 8_192;

/** Codes a peer may send. Others (from a newer peer) arrive as MUTAGEN_ENDPOINT. */
const KNOWN_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'MUTAGEN_INTERNAL', 'MUTAGEN_CANCELLED', 'MUTAGEN_INVALID_ARGUMENT', 'MUTAGEN_INVALID_URL', 'MUTAGEN_INVALID_NAME',
  'MUTAGEN_INVALID_LABEL', 'MUTAGEN_INVALID_SELECTION', 'MUTAGEN_INVALID_CONFIGURATION', 'MUTAGEN_INVALID_IGNORE',
  'MUTAGEN_CONFIG', 'MUTAGEN_NOT_FOUND', 'MUTAGEN_SESSION_PAUSED', 'MUTAGEN_SESSION_UNAVAILABLE', 'MUTAGEN_SESSION_FAILED',
  'MUTAGEN_DAEMON_UNREACHABLE', 'MUTAGEN_DAEMON_LOCKED', 'MUTAGEN_VERSION_MISMATCH', 'MUTAGEN_PROTOCOL',
  'MUTAGEN_TRANSPORT', 'MUTAGEN_HOST_KEY', 'MUTAGEN_AUTHENTICATION', 'MUTAGEN_AGENT', 'MUTAGEN_ENDPOINT',
  'MUTAGEN_SCAN_RETRY', 'MUTAGEN_SCAN', 'MUTAGEN_STAGING', 'MUTAGEN_TRANSITION', 'MUTAGEN_ARCHIVE',
  'MUTAGEN_CORRUPT_RECORD', 'MUTAGEN_PROJECT', 'MUTAGEN_HOOK_FAILED', 'MUTAGEN_UNSUPPORTED',
]);

function isErrorCode(code: string): code is ErrorCode {
  return KNOWN_CODES.has(code);
}

function cap(text: string): string {
  return text.length <= MAX_WIRE_ERROR_TEXT ? text : `${text.slice(0, MAX_WIRE_ERROR_TEXT - 1)}…`;
}

/** What we send for anything thrown: known errors keep code and hint; others become internal. */
export function toWireError(error: unknown): WireError {
  if (error instanceof MutagenError) {
    return { code: error.code, message: cap(error.message), ...(error.hint === undefined ? {} : { hint: cap(error.hint) }) };
  }
  if (isAbortError(error)) return { code: 'MUTAGEN_CANCELLED', message: 'operation cancelled' };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'MUTAGEN_INTERNAL', message: cap(message) };
}

const wireErrorSchema = z.object({
  code: z.string().max(100),
  message: z.string(),
  hint: z.string().optional(),
});

/** Validates an untrusted wire error; undefined when its shape is wrong. */
export function parseWireError(value: unknown): WireError | undefined {
  const parsed = wireErrorSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const { code, message, hint } = parsed.data;
  return {
    code: isErrorCode(code) ? code : 'MUTAGEN_ENDPOINT',
    message: cap(message),
    ...(hint === undefined ? {} : { hint: cap(hint) }),
  };
}

/** Untrusted input: validates shape; unknown codes become MUTAGEN_ENDPOINT; message length capped. */
export function fromWireError(value: unknown): MutagenError {
  const parsed = parseWireError(value);
  if (parsed === undefined) return new MutagenError('MUTAGEN_PROTOCOL', 'malformed error from the remote');
  return new MutagenError(parsed.code, parsed.message, parsed.hint === undefined ? {} : { hint: parsed.hint });
}
