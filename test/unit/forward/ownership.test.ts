import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveAccountId } from '../../../src/forward/local/ownership.js';
import { useTempDirectories } from '../../helpers/temp.js';

const temp = useTempDirectories();

async function databases(): Promise<{ passwdFile: string; groupFile: string }> {
  const directory = await temp('mt-own-');
  const passwdFile = path.join(directory, 'passwd');
  const groupFile = path.join(directory, 'group');
  await writeFile(passwdFile, '# comment\nroot:x:0:0:root:/root:/bin/sh\n\napp:x:1000:1000::/home/app:/bin/sh\nbroken:x:abc:1::/:/bin/sh\n');
  await writeFile(groupFile, 'root:x:0:\nstaff:x:50:app\n');
  return { passwdFile, groupFile };
}

describe('resolveAccountId', () => {
  it('leaves unset and empty specs unset', async () => {
    await expect(resolveAccountId(undefined, 'user')).resolves.toBeUndefined();
    await expect(resolveAccountId('', 'group')).resolves.toBeUndefined();
  });

  it('accepts id:N and bare numbers without reading the databases', async () => {
    const files = { passwdFile: '/nonexistent/passwd', groupFile: '/nonexistent/group' };
    await expect(resolveAccountId('id:1234', 'user', files)).resolves.toBe(1234);
    await expect(resolveAccountId('0', 'group', files)).resolves.toBe(0);
    await expect(resolveAccountId('id:', 'user', files)).rejects.toMatchObject({ code: 'MUTAGEN_INVALID_CONFIGURATION', message: 'invalid ownership specification for socket owner: "id:" is not a valid numeric id' });
    await expect(resolveAccountId('id:99999999999', 'user', files)).rejects.toMatchObject({ code: 'MUTAGEN_INVALID_CONFIGURATION' });
  });

  it('looks names up in passwd and group files', async () => {
    const files = await databases();
    await expect(resolveAccountId('app', 'user', files)).resolves.toBe(1000);
    await expect(resolveAccountId('root', 'user', files)).resolves.toBe(0);
    await expect(resolveAccountId('staff', 'group', files)).resolves.toBe(50);
  });

  it('says which name is unknown and where it looked', async () => {
    const files = await databases();
    await expect(resolveAccountId('nobody-here', 'user', files)).rejects.toMatchObject({
      code: 'MUTAGEN_INVALID_CONFIGURATION',
      message: `invalid ownership specification for socket owner: no user named "nobody-here" in ${files.passwdFile}`,
    });
    await expect(resolveAccountId('app', 'group', files)).rejects.toMatchObject({ message: `invalid ownership specification for socket group: no group named "app" in ${files.groupFile}` });
    await expect(resolveAccountId('broken', 'user', files)).rejects.toMatchObject({ code: 'MUTAGEN_INVALID_CONFIGURATION' });
  });

  it('reports an unreadable database', async () => {
    await expect(resolveAccountId('app', 'user', { passwdFile: '/nonexistent/passwd' })).rejects.toMatchObject({
      message: expect.stringMatching(/^invalid ownership specification for socket owner: unable to read \/nonexistent\/passwd: /) as unknown,
    });
  });
});
