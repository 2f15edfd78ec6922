import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { parseLabel, validateLabelKey, validateLabelValue } from '../../../src/model/label.js';

function labelError(text: string): MutagenError {
  try {
    parseLabel(text);
  } catch (error) {
    if (error instanceof MutagenError) return error;
    throw error;
  }
  throw new Error(`expected ${text} to fail`);
}

describe('label keys (§3.3)', () => {
  it('accepts names and prefixed names', () => {
    for (const key of ['app', 'App.Name_1-x', 'a', 'io.mutagen.project', 'example.com/MyName', 'a-b.c/x', `${'a'.repeat(63)}`]) {
      expect(validateLabelKey(key), key).toBeUndefined();
    }
    expect(validateLabelKey(`${'a'.repeat(253)}/x`)).toBeUndefined();
  });
  it('rejects bad names', () => {
    expect(validateLabelKey('')).toContain('name part must be non-empty');
    expect(validateLabelKey('-app')).toContain('name part must consist of alphanumeric characters');
    expect(validateLabelKey('app-')).toContain('must start and end with an alphanumeric character');
    expect(validateLabelKey('a b')).toBeDefined();
    expect(validateLabelKey('a'.repeat(64))).toContain('name part must be no more than 63 characters');
    expect(validateLabelKey('ünicode')).toBeDefined();
  });
  it('rejects bad prefixes and extra slashes', () => {
    expect(validateLabelKey('/x')).toBe('prefix part must be non-empty');
    expect(validateLabelKey('Example.com/x')).toContain('prefix part a lowercase RFC 1123 subdomain');
    expect(validateLabelKey('ex_ample.com/x')).toContain('prefix part');
    expect(validateLabelKey(`${'a'.repeat(254)}/x`)).toContain('prefix part must be no more than 253 characters');
    expect(validateLabelKey('a/b/c')).toContain("with an optional DNS subdomain prefix and '/'");
    expect(validateLabelKey('example.com/')).toContain('name part must be non-empty');
  });
  it('joins several reasons with commas', () => {
    expect(validateLabelKey('/-')).toBe(
      "prefix part must be non-empty, name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
  });
});

describe('label values (§3.3)', () => {
  it('accepts empty and well-formed values', () => {
    for (const value of ['', 'a', 'A.b_c-1', '12345', 'x'.repeat(63)]) expect(validateLabelValue(value), value).toBeUndefined();
  });
  it('rejects long or malformed values', () => {
    expect(validateLabelValue('x'.repeat(64))).toContain('must be no more than 63 characters');
    for (const value of ['-a', 'a-', '.a', 'a b', 'a/b', 'a=b', 'é']) {
      expect(validateLabelValue(value), value).toContain('a valid label must be an empty string or consist of alphanumeric characters');
    }
  });
});

describe('parseLabel', () => {
  it('splits at the first =', () => {
    expect(parseLabel('team=a')).toEqual({ key: 'team', value: 'a' });
    expect(parseLabel('team')).toEqual({ key: 'team', value: '' });
    expect(parseLabel('team=')).toEqual({ key: 'team', value: '' });
    expect(parseLabel('io.mutagen/project=proj_x1')).toEqual({ key: 'io.mutagen/project', value: 'proj_x1' });
  });
  it('reports invalid keys and values with their fragments', () => {
    const key = labelError('bad key=x');
    expect(key.code).toBe('MUTAGEN_INVALID_LABEL');
    expect(key.message).toMatch(/^invalid label key: /);
    const value = labelError('team=a=b');
    expect(value.code).toBe('MUTAGEN_INVALID_LABEL');
    expect(value.message).toMatch(/^invalid label value: /);
    expect(labelError('=x').message).toMatch(/^invalid label key: name part must be non-empty/);
  });
});
