import { chmod, mkdir, readFile, readdir, readlink, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import type { Entry } from '../../../src/model/entry.js';
import { dirEntry, fileEntry, symlinkEntry } from '../../../src/sync/core/tree.js';
import { applyTransitions } from '../../../src/sync/local/transition.js';
import { createWorkspace, scanTree, sha1, stage, transitionOptions, type Workspace } from './transition-fixtures.js';

let ws: Workspace;

beforeEach(async () => {
  ws = await createWorkspace();
  await mkdir(ws.root);
});

afterEach(async () => {
  await ws.dispose();
});

function child(entry: Entry | undefined, name: string): Entry {
  if (entry?.kind !== 'directory') throw new Error('not a directory');
  const found = entry.contents.get(name);
  if (found === undefined) throw new Error(`no ${name}`);
  return found;
}

describe('transition problems (sync-semantics §5.7)', () => {
  it('refuses to remove a file modified since the scan', async () => {
    await writeFile(path.join(ws.root, 'file'), 'scanned');
    const scanned = await scanTree(ws.root);
    const old = child(scanned.entry, 'file');
    await writeFile(path.join(ws.root, 'file'), 'edited!');
    const result = await applyTransitions([{ path: 'file', old, new: undefined }], transitionOptions(ws, scanned));
    expect(result.results).toEqual([old]);
    expect(result.problems).toEqual([{ path: 'file', error: 'unable to remove file: unable to validate existing file: modification detected' }]);
    expect(await readFile(path.join(ws.root, 'file'), 'utf8')).toBe('edited!');
  });

  it('refuses to remove a file whose permissions changed since the scan', async () => {
    await writeFile(path.join(ws.root, 'file'), 'scanned', { mode: 0o600 });
    const scanned = await scanTree(ws.root);
    await chmod(path.join(ws.root, 'file'), 0o640);
    const result = await applyTransitions([{ path: 'file', old: child(scanned.entry, 'file'), new: undefined }], transitionOptions(ws, scanned));
    expect(result.problems[0]?.error).toBe('unable to remove file: unable to validate existing file: modification detected');
    expect(await readFile(path.join(ws.root, 'file'), 'utf8')).toBe('scanned');
  });

  it('refuses to remove a file without cache information', async () => {
    await writeFile(path.join(ws.root, 'file'), 'scanned');
    const scanned = await scanTree(ws.root);
    scanned.cache.clear();
    const result = await applyTransitions([{ path: 'file', old: child(scanned.entry, 'file'), new: undefined }], transitionOptions(ws, scanned));
    expect(result.problems[0]?.error).toBe('unable to remove file: unable to validate existing file: unable to find cache information for path');
    expect(await readFile(path.join(ws.root, 'file'), 'utf8')).toBe('scanned');
  });

  it('refuses to swap a file modified since the scan', async () => {
    await writeFile(path.join(ws.root, 'file'), 'scanned');
    const scanned = await scanTree(ws.root);
    const old = child(scanned.entry, 'file');
    const digest = await stage(ws.staging, 'file', 'incoming');
    await writeFile(path.join(ws.root, 'file'), 'edited locally');
    const result = await applyTransitions([{ path: 'file', old, new: fileEntry(digest) }], transitionOptions(ws, scanned));
    expect(result.results).toEqual([old]);
    expect(result.problems).toEqual([{ path: 'file', error: 'unable to swap file: unable to validate existing file: modification detected' }]);
    expect(await readFile(path.join(ws.root, 'file'), 'utf8')).toBe('edited locally');
  });

  it('leaves unknown content in a directory removal and reports what remains', async () => {
    await mkdir(path.join(ws.root, 'dir'));
    await writeFile(path.join(ws.root, 'dir', 'known'), 'k');
    const scanned = await scanTree(ws.root);
    await writeFile(path.join(ws.root, 'dir', 'new'), 'created after the scan');
    const result = await applyTransitions([{ path: 'dir', old: child(scanned.entry, 'dir'), new: undefined }], transitionOptions(ws, scanned));
    expect(result.problems).toEqual([{ path: 'dir/new', error: 'unknown content encountered on disk' }]);
    expect(result.results).toEqual([dirEntry()]);
    expect(await readdir(path.join(ws.root, 'dir'))).toEqual(['new']);
  });

  it('keeps a directory whose child was modified, listing only the remaining child', async () => {
    await mkdir(path.join(ws.root, 'dir'));
    await writeFile(path.join(ws.root, 'dir', 'a'), 'a');
    await writeFile(path.join(ws.root, 'dir', 'b'), 'b');
    const scanned = await scanTree(ws.root);
    const old = child(scanned.entry, 'dir');
    await writeFile(path.join(ws.root, 'dir', 'b'), 'b edited');
    const result = await applyTransitions([{ path: 'dir', old, new: fileEntry(sha1('x')) }], transitionOptions(ws, scanned));
    expect(result.results).toEqual([dirEntry({ b: child(old, 'b') })]);
    expect(result.problems).toEqual([{ path: 'dir/b', error: 'unable to remove file: unable to validate existing file: modification detected' }]);
    expect(await readdir(path.join(ws.root, 'dir'))).toEqual(['b']);
  });

  it('refuses to remove a directory that became something else', async () => {
    await mkdir(path.join(ws.root, 'dir'));
    const scanned = await scanTree(ws.root);
    await rm(path.join(ws.root, 'dir'), { recursive: true });
    await mkdir(path.join(ws.base, 'elsewhere'));
    await symlink(path.join(ws.base, 'elsewhere'), path.join(ws.root, 'dir'));
    const result = await applyTransitions([{ path: 'dir', old: child(scanned.entry, 'dir'), new: undefined }], transitionOptions(ws, scanned));
    expect(result.problems).toEqual([{ path: 'dir', error: 'unable to remove directory: modification detected' }]);
    expect(await readlink(path.join(ws.root, 'dir'))).toBe(path.join(ws.base, 'elsewhere'));
  });

  it('fails a walk through a parent with the wrong case, or through a symlinked parent', async () => {
    await mkdir(path.join(ws.root, 'dir'));
    await mkdir(path.join(ws.base, 'outside'));
    await symlink(path.join(ws.base, 'outside'), path.join(ws.root, 'link'));
    const scanned = await scanTree(ws.root);
    const digest = await stage(ws.staging, 'Dir/file', 'x');
    await stage(ws.staging, 'link/file', 'x');
    const result = await applyTransitions(
      [
        { path: 'Dir/file', old: undefined, new: fileEntry(digest) },
        { path: 'link/file', old: undefined, new: fileEntry(digest) },
      ],
      transitionOptions(ws, scanned),
    );
    expect(result.results).toEqual([undefined, undefined]);
    expect(result.problems).toEqual([
      { path: 'Dir/file', error: 'unable to walk to transition root: parent path does not exist or has incorrect casing' },
      { path: 'link/file', error: 'unable to walk to transition root: parent path is not a directory' },
    ]);
    expect(await readdir(path.join(ws.base, 'outside'))).toEqual([]);
    expect(await readdir(path.join(ws.root, 'dir'))).toEqual([]);
  });

  it('fails a removal whose leaf has the wrong case', async () => {
    await writeFile(path.join(ws.root, 'file'), 'x');
    const scanned = await scanTree(ws.root);
    const result = await applyTransitions([{ path: 'FILE', old: child(scanned.entry, 'file'), new: undefined }], transitionOptions(ws, scanned));
    expect(result.problems).toEqual([{ path: 'FILE', error: 'unable to walk to transition root: leaf name does not exist or has incorrect casing' }]);
  });

  it('never replaces an existing target on creation', async () => {
    const scanned = await scanTree(ws.root);
    const digest = await stage(ws.staging, 'file', 'incoming');
    await writeFile(path.join(ws.root, 'file'), 'appeared after the scan');
    const result = await applyTransitions([{ path: 'file', old: undefined, new: fileEntry(digest) }], transitionOptions(ws, scanned));
    expect(result.results).toEqual([undefined]);
    expect(result.problems).toEqual([{ path: 'file', error: 'unable to create file: unable to relocate staged file: target already exists' }]);
    expect(result.missingStagedFiles).toBe(false);
    expect(await readFile(path.join(ws.root, 'file'), 'utf8')).toBe('appeared after the scan');
  });

  it('sets missingStagedFiles when the staged file is missing', async () => {
    const scanned = await scanTree(ws.root);
    await stage(ws.staging, 'file', 'bytes that hash differently');
    const result = await applyTransitions([{ path: 'file', old: undefined, new: fileEntry(sha1('expected')) }], transitionOptions(ws, scanned));
    expect(result.results).toEqual([undefined]);
    expect(result.missingStagedFiles).toBe(true);
    expect(result.problems[0]?.error).toMatch(/^unable to create file: unable to relocate staged file: /);
    await expect(stat(path.join(ws.root, 'file'))).rejects.toThrow();
  });

  it('sets missingStagedFiles when a swap finds no staged file', async () => {
    await writeFile(path.join(ws.root, 'file'), 'scanned');
    const scanned = await scanTree(ws.root);
    const old = child(scanned.entry, 'file');
    const result = await applyTransitions([{ path: 'file', old, new: fileEntry(sha1('never staged')) }], transitionOptions(ws, scanned));
    expect(result.results).toEqual([old]);
    expect(result.missingStagedFiles).toBe(true);
    expect(result.problems).toEqual([
      { path: 'file', error: 'unable to swap file: unable to relocate staged file: no staged file with the expected digest' },
    ]);
    expect(await readFile(path.join(ws.root, 'file'), 'utf8')).toBe('scanned');
  });

  it('refuses to remove a symbolic link whose target changed', async () => {
    await symlink('a', path.join(ws.root, 'link'));
    const scanned = await scanTree(ws.root);
    await unlink(path.join(ws.root, 'link'));
    await symlink('b', path.join(ws.root, 'link'));
    const result = await applyTransitions([{ path: 'link', old: symlinkEntry('a'), new: undefined }], transitionOptions(ws, scanned));
    expect(result.results).toEqual([symlinkEntry('a')]);
    expect(result.problems).toEqual([
      { path: 'link', error: 'unable to remove symbolic link: unable to validate existing symbolic link: modification detected' },
    ]);
    expect(await readlink(path.join(ws.root, 'link'))).toBe('b');
  });

  it('refuses symbolic links in ignore mode, both ways', async () => {
    await symlink('a', path.join(ws.root, 'old'));
    const scanned = await scanTree(ws.root);
    const result = await applyTransitions(
      [
        { path: 'old', old: symlinkEntry('a'), new: undefined },
        { path: 'new', old: undefined, new: symlinkEntry('b') },
      ],
      transitionOptions(ws, scanned, { symlinkMode: 'ignore' }),
    );
    expect(result.results).toEqual([symlinkEntry('a'), undefined]);
    expect(result.problems).toEqual([
      { path: 'new', error: 'unable to create symbolic link: symbolic link creation is not allowed in ignore mode' },
      { path: 'old', error: 'unable to remove symbolic link: symbolic link removal is not allowed in ignore mode' },
    ]);
    expect(await readdir(ws.root)).toEqual(['old']);
  });

  it('refuses non-portable symbolic link targets in portable mode but not in posix-raw mode', async () => {
    const scanned = await scanTree(ws.root);
    const portable = await applyTransitions([{ path: 'abs', old: undefined, new: symlinkEntry('/etc') }], transitionOptions(ws, scanned));
    expect(portable.problems).toEqual([{ path: 'abs', error: 'unable to create symbolic link: invalid symbolic link: target is absolute' }]);
    const raw = await applyTransitions([{ path: 'abs', old: undefined, new: symlinkEntry('/etc') }], transitionOptions(ws, scanned, { symlinkMode: 'posix-raw' }));
    expect(raw.problems).toEqual([]);
    expect(await readlink(path.join(ws.root, 'abs'))).toBe('/etc');
  });

  it('reports a failed mkdir', async () => {
    const scanned = await scanTree(ws.root);
    await writeFile(path.join(ws.root, 'dir'), 'a file appeared');
    const result = await applyTransitions([{ path: 'dir', old: undefined, new: dirEntry() }], transitionOptions(ws, scanned));
    expect(result.results).toEqual([undefined]);
    expect(result.problems[0]?.error).toMatch(/^unable to create directory: EEXIST/);
  });

  it('applies nothing once cancelled and reports every change', async () => {
    await writeFile(path.join(ws.root, 'file'), 'x');
    const scanned = await scanTree(ws.root);
    const digest = await stage(ws.staging, 'new', 'n');
    const controller = new AbortController();
    controller.abort();
    const changes = [
      { path: 'file', old: child(scanned.entry, 'file'), new: undefined },
      { path: 'new', old: undefined, new: fileEntry(digest) },
    ];
    const result = await applyTransitions(changes, transitionOptions(ws, scanned, { signal: controller.signal }));
    expect(result.results).toEqual([child(scanned.entry, 'file'), undefined]);
    expect(result.problems).toEqual([
      { path: 'file', error: 'transition cancelled' },
      { path: 'new', error: 'transition cancelled' },
    ]);
    expect((await readdir(ws.root)).sort()).toEqual(['file']);
  });

  it('applies nothing when the projected entry count exceeds the maximum', async () => {
    await writeFile(path.join(ws.root, 'a'), 'a');
    const scanned = await scanTree(ws.root);
    const d1 = await stage(ws.staging, 'dir/x', 'x');
    const change = { path: 'dir', old: undefined, new: dirEntry({ x: fileEntry(d1), y: fileEntry(d1) }) };
    const limited = await applyTransitions([change], transitionOptions(ws, scanned, { maxEntryCount: 4 }));
    expect(limited.results).toEqual([undefined]);
    expect(limited.problems).toEqual([{ path: '', error: 'transitioning would exceeded allowed entry count' }]);
    expect(await readdir(ws.root)).toEqual(['a']);
    // root + a + dir + x + y = 5 fits a maximum of 5 (y is missing, the count is a projection)
    const fits = await applyTransitions([change], transitionOptions(ws, scanned, { maxEntryCount: 5 }));
    expect(fits.problems.map((p) => p.path)).toEqual(['dir/y']);
  });

  it('fails the whole transition on a read-only endpoint or an entry count underflow', async () => {
    const scanned = await scanTree(ws.root);
    await expect(applyTransitions([], transitionOptions(ws, scanned, { readOnly: true }))).rejects.toMatchObject({ code: 'MUTAGEN_ENDPOINT' });
    const underflow = applyTransitions([{ path: 'x', old: dirEntry({ a: dirEntry() }), new: undefined }], transitionOptions(ws, scanned, { lastScanCount: 1 }));
    await expect(underflow).rejects.toBeInstanceOf(MutagenError);
  });

  it('rejects paths that would escape the root', async () => {
    const scanned = await scanTree(ws.root);
    const result = await applyTransitions([{ path: '../escape', old: undefined, new: dirEntry() }], transitionOptions(ws, scanned));
    expect(result.problems).toEqual([{ path: '../escape', error: 'unable to walk to transition root: invalid path "../escape"' }]);
    await expect(stat(path.join(ws.base, 'escape'))).rejects.toThrow();
  });
});
