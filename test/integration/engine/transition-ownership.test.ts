import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { resolveOwnership } from '../../../src/sync/local/ownership.js';

let base: string;
let databases: { passwdFile: string; groupFile: string };

beforeEach(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'mutagen-ownership-'));
  databases = { passwdFile: path.join(base, 'passwd'), groupFile: path.join(base, 'group') };
  await writeFile(databases.passwdFile, '# users\nroot:x:0:0:root:/root:/bin/sh\n\nalice:x:1001:1001::/home/alice:/bin/sh\n');
  await writeFile(databases.groupFile, 'root:x:0:\nstaff:x:50:alice\n');
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<MutagenError> {
  const error: unknown = await promise.catch((e: unknown) => e);
  if (!(error instanceof MutagenError)) throw new Error('expected a MutagenError');
  return error;
}

describe('resolveOwnership (sync-semantics §2.10)', () => {
  it('leaves an unset spec unset', async () => {
    expect(await resolveOwnership(undefined, 'user')).toBeUndefined();
  });

  it('parses id:<n> without leading zeros', async () => {
    expect(await resolveOwnership('id:0', 'user')).toBe(0);
    expect(await resolveOwnership('id:1001', 'group')).toBe(1001);
    for (const bad of ['id:0123', 'id:', 'id:-1', 'id:1.5', 'id:99999999999']) {
      expect((await failure(resolveOwnership(bad, 'user'))).code).toBe('MUTAGEN_INVALID_CONFIGURATION');
    }
  });

  it('looks names up in the passwd and group databases', async () => {
    expect(await resolveOwnership('alice', 'user', databases)).toBe(1001);
    expect(await resolveOwnership('root', 'user', databases)).toBe(0);
    expect(await resolveOwnership('staff', 'group', databases)).toBe(50);
    expect(await resolveOwnership('root', 'user')).toBe(0);
  });

  it('rejects unknown names and Windows SIDs', async () => {
    const unknown = await failure(resolveOwnership('bob', 'user', databases));
    expect(unknown.message).toBe(`unable to look up owner "bob": no such user in ${databases.passwdFile}`);
    expect(unknown.hint).toBeDefined();
    expect((await failure(resolveOwnership('alice', 'group', databases))).message).toContain('no such group');
    expect((await failure(resolveOwnership('sid:S-1-5-32-544', 'user'))).code).toBe('MUTAGEN_INVALID_CONFIGURATION');
  });
});
