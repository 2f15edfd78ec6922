import { MutagenError } from '../base/errors.js';

// Value grammars of cli spec §5.1. Errors are `MUTAGEN_INVALID_CONFIGURATION` with the bare
// fragment; callers add their context (`unable to parse synchronization mode: …`).

/** Exact, case-sensitive match against `allowed`; else `unknown <what> specification: <text>`. */
export function parseEnum<T extends string>(what: string, allowed: readonly T[], text: string): T {
  const found = allowed.find((candidate) => candidate === text);
  if (found === undefined) throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `unknown ${what} specification: ${text}`);
  return found;
}

const SIZE_UNITS: ReadonlyMap<string, number> = new Map([
  ['', 1], ['b', 1],
  ['k', 1e3], ['kb', 1e3], ['ki', 2 ** 10], ['kib', 2 ** 10],
  ['m', 1e6], ['mb', 1e6], ['mi', 2 ** 20], ['mib', 2 ** 20],
  ['g', 1e9], ['gb', 1e9], ['gi', 2 ** 30], ['gib', 2 ** 30],
  ['t', 1e12], ['tb', 1e12], ['ti', 2 ** 40], ['tib', 2 ** 40],
  ['p', 1e15], ['pb', 1e15], ['pi', 2 ** 50], ['pib', 2 ** 50],
  ['e', 1e18], ['eb', 1e18], ['ei', 2 ** 60], ['eib', 2 ** 60],
]);

/**
 * Parses a byte size with go-humanize's rules: a decimal number (`,` separators and a fraction
 * allowed), optional whitespace, and a case-insensitive unit (`b`, `k`/`kb` = 1000, `ki`/`kib` =
 * 1024, … up to `e`/`eib`). Fractions of a byte are truncated. [ts] Results above
 * `Number.MAX_SAFE_INTEGER` are `too large` (upstream's limit is 2⁶⁴−1), since sizes are numbers.
 */
export function parseByteSize(text: string): number {
  const numeric = /^[0-9.,]*/.exec(text)?.[0] ?? '';
  const digits = numeric.replaceAll(',', '');
  const amount = /^(?:[0-9]+\.?[0-9]*|\.[0-9]+)$/.test(digits) ? Number(digits) : Number.NaN;
  if (Number.isNaN(amount)) {
    throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `invalid size value: ${JSON.stringify(text)}`);
  }
  const unit = text.slice(numeric.length).trim().toLowerCase();
  const multiplier = SIZE_UNITS.get(unit);
  if (multiplier === undefined) throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `unhandled size name: ${unit}`);
  const bytes = amount * multiplier;
  if (bytes > Number.MAX_SAFE_INTEGER) throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `too large: ${text}`);
  return Math.floor(bytes);
}

const SIZE_NAMES = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'] as const;

/** Go's `%.0f`: round half to even. */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * SI size like go-humanize's `Bytes`: `0 B`, `999 B`, `1.0 kB`, `15 kB`, `4.2 MB` (one decimal
 * below 10 of a unit, none above).
 */
export function formatByteSize(bytes: number): string {
  if (bytes < 10) return `${Math.max(0, Math.floor(bytes))} B`;
  const exponent = Math.min(Math.floor(Math.log(bytes) / Math.log(1000)), SIZE_NAMES.length - 1);
  const value = Math.floor((bytes / 1000 ** exponent) * 10 + 0.5) / 10;
  const name = SIZE_NAMES[exponent] as string;
  return value < 10 ? `${value.toFixed(1)} ${name}` : `${roundHalfEven(value)} ${name}`;
}

const PERMISSION_BITS = 0o777;

/**
 * Parses an octal permission mode, with or without leading zeros (`644`, `0644` → 0o644).
 * Errors: `unable to parse numeric value: …` (empty, non-octal digits, out of range) and
 * `mode contains disallowed bits` (anything outside 0777). Zero is returned as 0; whether zero
 * is allowed is the caller's business (`zero-value … permission mode specified`).
 */
export function parseOctalMode(text: string): number {
  if (!/^[0-7]+$/.test(text)) {
    throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `unable to parse numeric value: invalid octal number: ${JSON.stringify(text)}`);
  }
  const mode = Number.parseInt(text, 8);
  if (mode > 0xffff_ffff) {
    throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `unable to parse numeric value: value out of range: ${JSON.stringify(text)}`);
  }
  if ((mode & PERMISSION_BITS) !== mode) throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', 'mode contains disallowed bits');
  return mode;
}

/** `0` followed by the octal digits: 0o644 → `0644`, 0o7 → `07` (upstream's JSON/YAML form). */
export function formatOctalMode(mode: number): string {
  return `0${mode.toString(8)}`;
}

/**
 * Checks an ownership specification (cli spec §5.1): `id:<n>` (POSIX id: `0` or digits without a
 * leading zero), `sid:<SID>` (non-empty Windows SID), or any other non-empty text (a name,
 * resolved on the endpoint). Returns `undefined` when valid, else a reason; callers report it as
 * `invalid ownership specification: <reason>`.
 */
export function validateOwnership(spec: string): string | undefined {
  if (spec === '') return 'empty ownership specification';
  if (spec.startsWith('id:')) {
    const id = spec.slice(3);
    return id === '0' || /^[1-9][0-9]*$/.test(id) ? undefined : `invalid POSIX user or group identifier: ${JSON.stringify(id)}`;
  }
  if (spec.startsWith('sid:')) return spec.length > 4 ? undefined : 'empty Windows security identifier';
  return undefined;
}
