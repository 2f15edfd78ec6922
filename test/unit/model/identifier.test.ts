import { describe, expect, it } from 'vitest';
import { encodeBase62, isIdentifier, newIdentifier, truncateIdentifier } from '../../../src/model/identifier.js';

describe('identifiers (§3.2)', () => {
  it('creates <prefix>_<43 base62> for every prefix', () => {
    for (const prefix of ['sync', 'fwrd', 'proj', 'pmtr'] as const) {
      const id = newIdentifier(prefix);
      expect(id).toMatch(new RegExp(`^${prefix}_[0-9a-zA-Z]{43}$`));
      expect(isIdentifier(id)).toBe(true);
    }
  });
  it('creates distinct identifiers', () => {
    const ids = new Set(Array.from({ length: 200 }, () => newIdentifier('sync')));
    expect(ids.size).toBe(200);
  });
  it('encodes big-endian bytes with the 0-9a-zA-Z alphabet', () => {
    expect(encodeBase62(new Uint8Array([0]))).toBe('');
    expect(encodeBase62(new Uint8Array([61]))).toBe('Z');
    expect(encodeBase62(new Uint8Array([62]))).toBe('10');
    expect(encodeBase62(new Uint8Array([1, 0]))).toBe('48');
    expect(encodeBase62(new Uint8Array(32).fill(255))).toHaveLength(43);
    // 2^256-1, cross-checked with an independent big-integer conversion
    expect(encodeBase62(new Uint8Array(32).fill(255))).toBe('YHJSKWDa6oz1al1yMhwzwM8llg7hJNUca2J5RoW8xP1');
  });
  it('accepts legacy lowercase UUIDs only', () => {
    expect(isIdentifier('123e4567-e89b-12d3-a456-426614174000')).toBe(true);
    expect(isIdentifier('123E4567-E89B-12D3-A456-426614174000')).toBe(false);
  });
  it('rejects near misses', () => {
    expect(isIdentifier('sync_0Jv1QeJtq5W8pR2f0hYbK3mLxZ7sA9dC4eF6gH8iJk')).toBe(false);
    expect(isIdentifier('sync_0Jv1QeJtq5W8pR2f0hYbK3mLxZ7sA9dC4eF6gH8iJkLm')).toBe(false);
    expect(isIdentifier('SYNC_0Jv1QeJtq5W8pR2f0hYbK3mLxZ7sA9dC4eF6gH8iJkL')).toBe(false);
    expect(isIdentifier('sync-0Jv1QeJtq5W8pR2f0hYbK3mLxZ7sA9dC4eF6gH8iJkL')).toBe(false);
    expect(isIdentifier('web')).toBe(false);
    expect(isIdentifier('')).toBe(false);
  });
  it('truncates for logs', () => {
    expect(truncateIdentifier('sync_0Jv1QeJtq5W8pR2f0hYbK3mLxZ7sA9dC4eF6gH8iJkL')).toBe('sync_0Jv1QeJt');
    expect(truncateIdentifier('123e4567-e89b-12d3-a456-426614174000')).toBe('123e4567');
  });
});
