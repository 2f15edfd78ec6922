import * as z from 'zod';
import type { ErrorCode } from '../base/errors.js';
import { ERROR_CODES, isAbortError, MutagenError } from '../base/errors.js';

/** An error as it crosses the wire: code, message and hint, never a stack. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly hint?: string;
}

/** Longest message or hint accepted from (or sent to) a peer, in characters. */
export const MAX_WIRE_ERROR_TEXT = 8_192;

/** Codes a peer may send. Others (from a newer peer) arrive as MUTAGEN_ENDPOINT. */
const KNOWN_CODES: ReadonlySet<string> = new Set<string>(ERROR_CODES);

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
