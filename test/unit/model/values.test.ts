import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { SYNC_MODES } from '../../../src/model/configuration.js';
import {
  formatByteSize, formatOctalMode, parseByteSize, parseEnum, parseOctalMode, validateOwnership,
} from '../../../src/model/values.js';

function message(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (!(error instanceof MutagenError)) throw error;
    expect(error.code).toBe('MUTAGEN_INVALID_CONFIGURATION');
    return error.message;
  }
  throw new Error('expected a failure');
}

describe('parseEnum', () => {
  it('accepts exact lowercase values', () => {
    expect(parseEnum('synchronization mode', SYNC_MODES, 'two-way-resolved')).toBe('two-way-resolved');
  });
  it('rejects anything else with the §5.1 fragment', () => {
    expect(message(() => parseEnum('synchronization mode', SYNC_MODES, 'fast'))).toBe('unknown synchronization mode specification: fast');
    expect(message(() => parseEnum('synchronization mode', SYNC_MODES, 'Two-Way-Safe'))).toBe(
      'unknown synchronization mode specification: Two-Way-Safe',
    );
    expect(message(() => parseEnum('hashing algorithm', ['sha1'], ''))).toBe('unknown hashing algorithm specification: ');
  });
});

describe('parseByteSize (go-humanize rules)', () => {
  it('parses plain numbers and bytes', () => {
    expect(parseByteSize('0')).toBe(0);
    expect(parseByteSize('42')).toBe(42);
    expect(parseByteSize('42b')).toBe(42);
    expect(parseByteSize('42 B')).toBe(42);
  });
  it('uses SI units for k/kb and binary units for ki/kib', () => {
    expect(parseByteSize('1k')).toBe(1000);
    expect(parseByteSize('1kb')).toBe(1000);
    expect(parseByteSize('1KB')).toBe(1000);
    expect(parseByteSize('1ki')).toBe(1024);
    expect(parseByteSize('1KiB')).toBe(1024);
    expect(parseByteSize('10 MB')).toBe(10_000_000);
    expect(parseByteSize('10mib')).toBe(10 * 2 ** 20);
    expect(parseByteSize('2G')).toBe(2e9);
    expect(parseByteSize('2gib')).toBe(2 * 2 ** 30);
    expect(parseByteSize('1t')).toBe(1e12);
    expect(parseByteSize('1TiB')).toBe(2 ** 40);
    expect(parseByteSize('1p')).toBe(1e15);
    expect(parseByteSize('1pi')).toBe(2 ** 50);
  });
  it('allows commas, fractions and spaces before the unit', () => {
    expect(parseByteSize('1,000')).toBe(1000);
    expect(parseByteSize('1,024 kib')).toBe(1024 * 1024);
    expect(parseByteSize('1.5 GB')).toBe(1.5e9);
    expect(parseByteSize('.5k')).toBe(500);
    expect(parseByteSize('2.5')).toBe(2);
    expect(parseByteSize('4.2mb   ')).toBe(4_200_000);
  });
  it('rejects unknown units', () => {
    expect(message(() => parseByteSize('10 xb'))).toBe('unhandled size name: xb');
    expect(message(() => parseByteSize('10 megabytes'))).toBe('unhandled size name: megabytes');
    expect(message(() => parseByteSize('10 k b'))).toBe('unhandled size name: k b');
  });
  it('rejects missing or malformed numbers', () => {
    expect(message(() => parseByteSize(''))).toContain('invalid size value');
    expect(message(() => parseByteSize('kb'))).toContain('invalid size value');
    expect(message(() => parseByteSize('1.2.3k'))).toContain('invalid size value');
    expect(message(() => parseByteSize('-5'))).toContain('invalid size value');
  });
  it('rejects sizes that are too large', () => {
    expect(message(() => parseByteSize('100 EB'))).toMatch(/^too large/);
    expect(message(() => parseByteSize('20eib'))).toMatch(/^too large/);
    expect(message(() => parseByteSize('9,007,199,254,740,992'))).toMatch(/^too large/);
    expect(parseByteSize('9,007,199,254,740,991')).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('formatByteSize', () => {
  it('matches go-humanize Bytes', () => {
    const cases: [number, string][] = [
      [0, '0 B'], [9, '9 B'], [10, '10 B'], [999, '999 B'], [1000, '1.0 kB'], [1049, '1.0 kB'], [1050, '1.1 kB'],
      [9_949, '9.9 kB'], [9_950, '10 kB'], [15_000, '15 kB'], [14_500, '14 kB'], [15_500, '16 kB'], [999_999, '1000 kB'],
      [4_200_000, '4.2 MB'], [48_213, '48 kB'], [1e9, '1.0 GB'], [2.5e12, '2.5 TB'], [1e15, '1.0 PB'], [3e18, '3.0 EB'],
    ];
    for (const [bytes, text] of cases) expect(formatByteSize(bytes), String(bytes)).toBe(text);
  });
});

describe('octal modes', () => {
  it('parses with or without leading zeros', () => {
    expect(parseOctalMode('644')).toBe(0o644);
    expect(parseOctalMode('0644')).toBe(0o644);
    expect(parseOctalMode('000755')).toBe(0o755);
    expect(parseOctalMode('0777')).toBe(0o777);
    expect(parseOctalMode('0')).toBe(0);
  });
  it('rejects non-octal text', () => {
    expect(message(() => parseOctalMode('648'))).toMatch(/^unable to parse numeric value/);
    expect(message(() => parseOctalMode('9'))).toMatch(/^unable to parse numeric value/);
    expect(message(() => parseOctalMode(''))).toMatch(/^unable to parse numeric value/);
    expect(message(() => parseOctalMode('0o644'))).toMatch(/^unable to parse numeric value/);
    expect(message(() => parseOctalMode(' 644'))).toMatch(/^unable to parse numeric value/);
    expect(message(() => parseOctalMode('77777777777777'))).toMatch(/^unable to parse numeric value: value out of range/);
  });
  it('rejects bits outside 0777', () => {
    expect(message(() => parseOctalMode('1000'))).toBe('mode contains disallowed bits');
    expect(message(() => parseOctalMode('4755'))).toBe('mode contains disallowed bits');
  });
  it('formats with a leading zero', () => {
    expect(formatOctalMode(0o644)).toBe('0644');
    expect(formatOctalMode(0o700)).toBe('0700');
    expect(formatOctalMode(0o7)).toBe('07');
    expect(parseOctalMode(formatOctalMode(0o640))).toBe(0o640);
  });
});

describe('validateOwnership', () => {
  it('accepts POSIX ids, SIDs and names', () => {
    for (const spec of ['id:0', 'id:1000', 'sid:S-1-5-32-544', 'www-data', 'root', 'id', 'ID:01']) {
      expect(validateOwnership(spec), spec).toBeUndefined();
    }
  });
  it('rejects empty specs, bad ids and empty SIDs', () => {
    expect(validateOwnership('')).toBe('empty ownership specification');
    expect(validateOwnership('id:')).toContain('invalid POSIX user or group identifier');
    expect(validateOwnership('id:01')).toContain('invalid POSIX user or group identifier');
    expect(validateOwnership('id:-1')).toContain('invalid POSIX user or group identifier');
    expect(validateOwnership('id:1a')).toContain('invalid POSIX user or group identifier');
    expect(validateOwnership('sid:')).toBe('empty Windows security identifier');
  });
});
