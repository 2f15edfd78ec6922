import { randomBytes } from 'node:crypto';

/** Identifier prefixes (cli spec §3.2): sync sessions, forward sessions, projects, prompters. */
export type IdentifierPrefix = 'sync' | 'fwrd' | 'proj' | 'pmtr';

const BASE62_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const RANDOM_BYTES = 32;
const ENCODED_LENGTH = 43;
const IDENTIFIER = /^[a-z]{4}_[0-9a-zA-Z]{43}$/;
const LEGACY_IDENTIFIER = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Big-endian bytes as base62 (alphabet `0-9a-zA-Z`), without padding; `''` for zero. */
export function encodeBase62(bytes: Uint8Array): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let encoded = '';
  while (value > 0n) {
    encoded = (BASE62_ALPHABET[Number(value % 62n)] as string) + encoded;
    value /= 62n;
  }
  return encoded;
}

/**
 * A new collision-resistant identifier: `<prefix>_` + 32 random bytes as 43 base62 characters,
 * left-padded with `0` (the same shape upstream Mutagen produces).
 */
export function newIdentifier(prefix: IdentifierPrefix): string {
  return `${prefix}_${encodeBase62(randomBytes(RANDOM_BYTES)).padStart(ENCODED_LENGTH, '0')}`;
}

/** True for `^[a-z]{4}_[0-9a-zA-Z]{43}$` or a legacy lowercase UUID. */
export function isIdentifier(text: string): boolean {
  return IDENTIFIER.test(text) || LEGACY_IDENTIFIER.test(text);
}

/** The short form used in logs: `sync_0Jv1QeJt` (prefix, `_`, 8 chars) or a UUID's first 8. */
export function truncateIdentifier(identifier: string): string {
  if (IDENTIFIER.test(identifier)) return identifier.slice(0, 13);
  if (LEGACY_IDENTIFIER.test(identifier)) return identifier.slice(0, 8);
  return identifier;
}
