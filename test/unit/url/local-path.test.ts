import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWindowsDrivePath, lookupUserHome, normalizeLocalPath } from '../../../src/url/local-path.js';
import { isLocalPathNested } from '../../../src/url/parse.js';

describe('lookupUserHome', () => {
  let directory = '';
  beforeEach(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'mutagen-passwd-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('reads the home field of the matching passwd line', async () => {
    const file = path.join(directory, 'passwd');
    await writeFile(file, '# comment\nalice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\nbob:x:1001:1001::/srv/bob:/bin/sh\n');
    expect(lookupUserHome('alice', file)).toBe('/home/alice');
    expect(lookupUserHome('bob', file)).toBe('/srv/bob');
    expect(() => lookupUserHome('carol', file)).toThrow('unknown user carol');
    expect(() => lookupUserHome('ali', file)).toThrow('unknown user ali');
  });

  it('treats a missing database like an unknown user', () => {
    expect(() => lookupUserHome('nosuchuser', path.join(directory, 'absent'))).toThrow('unknown user nosuchuser');
  });
});

describe('normalizeLocalPath', () => {
  it('expands ~ against the given home and cleans the result', () => {
    expect(normalizeLocalPath('~/a/../b/', { cwd: '/w', home: '/h', platform: 'linux' })).toBe('/h/b');
    expect(normalizeLocalPath('x', { cwd: '/w/', home: '/h', platform: 'darwin' })).toBe('/w/x');
  });
  it('recognises Windows drive paths', () => {
    expect(isWindowsDrivePath('C:\\x')).toBe(true);
    expect(isWindowsDrivePath('z:/x')).toBe(true);
    expect(isWindowsDrivePath('C:x')).toBe(false);
    expect(isWindowsDrivePath('/C:/x')).toBe(false);
  });
});

describe('isLocalPathNested', () => {
  it('is true for the same path and for either side inside the other', () => {
    expect(isLocalPathNested('/a/b', '/a/b')).toBe(true);
    expect(isLocalPathNested('/a/b/', '/a/b')).toBe(true);
    expect(isLocalPathNested('/a', '/a/b/c')).toBe(true);
    expect(isLocalPathNested('/a/b/c', '/a')).toBe(true);
    expect(isLocalPathNested('/', '/anything')).toBe(true);
  });
  it('is false for siblings and name prefixes', () => {
    expect(isLocalPathNested('/a/b', '/a/bc')).toBe(false);
    expect(isLocalPathNested('/a/bc', '/a/b')).toBe(false);
    expect(isLocalPathNested('/a/b', '/a/c')).toBe(false);
    expect(isLocalPathNested('/a/..b', '/a')).toBe(true);
    expect(isLocalPathNested('/x/..b', '/x/c')).toBe(false);
  });
  it('compares Windows paths case-insensitively', () => {
    expect(isLocalPathNested('C:\\Users\\u', 'c:\\users\\U\\proj')).toBe(true);
    expect(isLocalPathNested('C:\\a', 'D:\\a')).toBe(false);
  });
});
