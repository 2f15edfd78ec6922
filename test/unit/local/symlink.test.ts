import { describe, expect, it } from 'vitest';
import { MAXIMUM_PORTABLE_TARGET_LENGTH, normalizePortableTarget } from '../../../src/sync/local/symlink.js';

describe('normalizePortableTarget (sync-semantics §2.6)', () => {
  const rejected: [string, string, string][] = [
    ['link', '', 'target empty'],
    ['link', 'x'.repeat(300), 'target too long'],
    ['link', 'target:path', 'colon in target (absolute or unsupported path)'],
    ['link', 'C:\\x', 'colon in target (absolute or unsupported path)'],
    ['link', 'target\\path', 'backslash in target'],
    ['link', '/target', 'target is absolute'],
    ['link', '/', 'target is absolute'],
    ['file', '../target', 'target references location outside synchronization root'],
    ['directory/symlink path', '../../target', 'target references location outside synchronization root'],
    ['myroot-link', '../myroot/file', 'target references location outside synchronization root'],
    ['a/b/link', 'x/../../../../y', 'target references location outside synchronization root'],
  ];
  it.each(rejected)('rejects link %j -> %j: %s', (linkPath, target, reason) => {
    expect(normalizePortableTarget(linkPath, target)).toEqual({ problem: `invalid symbolic link: ${reason}` });
  });

  const accepted: [string, string][] = [
    ['link', 'other'],
    ['link', './other'],
    ['link', 'subdirectory/other'],
    ['dir/link', '../x'],
    ['a/b/link', '../../x/./y'],
    ['link', 'x/..'],
    ['link', 'é/ünïcode'],
  ];
  it.each(accepted)('accepts link %j -> %j unchanged', (linkPath, target) => {
    expect(normalizePortableTarget(linkPath, target)).toEqual({ target });
  });

  it('checks the length in bytes, not characters', () => {
    expect(normalizePortableTarget('l', 'a'.repeat(MAXIMUM_PORTABLE_TARGET_LENGTH))).toEqual({ target: 'a'.repeat(247) });
    expect(normalizePortableTarget('l', 'a'.repeat(248))).toEqual({ problem: 'invalid symbolic link: target too long' });
    // 124 two-byte characters = 248 bytes.
    expect(normalizePortableTarget('l', 'é'.repeat(124))).toEqual({ problem: 'invalid symbolic link: target too long' });
  });

  it('applies the checks in the specified order', () => {
    // Too long wins over colon, colon over backslash, backslash over absolute.
    expect(normalizePortableTarget('l', `:${'x'.repeat(300)}`)).toEqual({ problem: 'invalid symbolic link: target too long' });
    expect(normalizePortableTarget('l', '\\a:b')).toEqual({ problem: 'invalid symbolic link: colon in target (absolute or unsupported path)' });
    expect(normalizePortableTarget('l', '/a\\b')).toEqual({ problem: 'invalid symbolic link: backslash in target' });
  });
});
