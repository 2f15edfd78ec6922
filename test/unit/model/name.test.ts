import { describe, expect, it } from 'vitest';
import { validateName } from '../../../src/model/name.js';

describe('validateName (§3.1)', () => {
  it('accepts letters first, then letters, numbers and dashes', () => {
    for (const name of ['web', 'a', 'Web-2', 'a-b-c', 'ünïcödé', 'пример1', '名前', 'x٣', 'code-v2-final']) {
      expect(validateName(name), name).toBeUndefined();
    }
  });
  it('accepts the empty name (unnamed)', () => {
    expect(validateName('')).toBeUndefined();
  });
  it('requires a Unicode letter first', () => {
    for (const name of ['1web', '-web', '_web', ' web', '.web', '٣x']) {
      expect(validateName(name), name).toBe('name does not start with Unicode letter');
    }
  });
  it('reports the first invalid character with its index', () => {
    expect(validateName('a_b')).toBe("invalid name character at index 1: '_'");
    expect(validateName('my.app')).toBe("invalid name character at index 2: '.'");
    expect(validateName('my app')).toBe("invalid name character at index 2: ' '");
    expect(validateName('a/b')).toBe("invalid name character at index 1: '/'");
    expect(validateName('a:b')).toBe("invalid name character at index 1: ':'");
    expect(validateName('ü_')).toBe("invalid name character at index 2: '_'");
  });
  it('rejects names that parse as UUIDs', () => {
    expect(validateName('a1b2c3d4-e5f6-4711-8899-aabbccddeeff')).toBe('name must not be a UUID');
    expect(validateName('ABCDEF00-0000-0000-0000-000000000000')).toBe('name must not be a UUID');
    expect(validateName('a1b2c3d4-e5f6-4711-8899-aabbccddeefg')).toBeUndefined();
    expect(validateName('a1b2c3d4-e5f6-4711-8899-aabbccddeeff0')).toBeUndefined();
  });
  it('reserves "defaults"', () => {
    expect(validateName('defaults')).toBe('"defaults" is disallowed as a name');
    expect(validateName('Defaults')).toBeUndefined();
  });
});
