import { lstat, mkdir, readFile, readdir, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Entry } from '../../../src/model/entry.js';
import { dirEntry, fileEntry, symlinkEntry } from '../../../src/sync/core/tree.js';
import { hashPool } from '../../../src/sync/local/hash-pool.js';
import { resolveOwnership } from '../../../src/sync/local/ownership.js';
import type { CacheEntry } from '../../../src/sync/local/scan-cache.js';
import { applyTransitions } from '../../../src/sync/local/transition.js';
import { createWorkspace, modeOf, scanTree, sha1, stage, temporaryNames, transitionOptions, type Workspace } from './transition-fixtures.js';

let ws: Workspace | undefined;

async function workspace(options: { root?: boolean; stagingParent?: string } = {}): Promise<Workspace> {
  ws = await createWorkspace(options.stagingParent);
  if (options.root !== false) await mkdir(ws.root);
  return ws;
}

afterEach(async () => {
  await ws?.dispose();
  ws = undefined;
});

function child(entry: Entry | undefined, name: string): Entry {
  if (entry?.kind !== 'directory') throw new Error('not a directory');
  const found = entry.contents.get(name);
  if (found === undefined) throw new Error(`no ${name}`);
  return found;
}

describe('transitions (sync-semantics §5)', () => {
  it('swaps executability only with a chmod, without staging', async () => {
    const w = await workspace();
    const file = path.join(w.root, 'script');
    await writeFile(file, '#!/bin/sh\n', { mode: 0o600 });
    const inode = (await stat(file)).ino;
    let scanned = await scanTree(w.root);
    const plain = child(scanned.entry, 'script');
    const executable = fileEntry(sha1('#!/bin/sh\n'), true);
    let result = await applyTransitions([{ path: 'script', old: plain, new: executable }], transitionOptions(w, scanned, { defaultFileMode: 0o644 }));
    expect(result).toEqual({ results: [executable], problems: [], missingStagedFiles: false });
    expect(await modeOf(file)).toBe(0o755);
    expect((await stat(file)).ino).toBe(inode);
    scanned = await scanTree(w.root);
    result = await applyTransitions([{ path: 'script', old: executable, new: plain }], transitionOptions(w, scanned, { defaultFileMode: 0o644 }));
    expect(result.problems).toEqual([]);
    expect(await modeOf(file)).toBe(0o644);
  });

  it('swaps content atomically by renaming the staged file over the target', async () => {
    const w = await workspace();
    const file = path.join(w.root, 'file');
    await writeFile(file, 'old content', { mode: 0o666 });
    const scanned = await scanTree(w.root);
    const digest = await stage(w.staging, 'file', 'new content');
    const replacement = fileEntry(digest, true);
    const result = await applyTransitions([{ path: 'file', old: child(scanned.entry, 'file'), new: replacement }], transitionOptions(w, scanned));
    expect(result).toEqual({ results: [replacement], problems: [], missingStagedFiles: false });
    expect(await readFile(file, 'utf8')).toBe('new content');
    expect(await modeOf(file)).toBe(0o700);
    expect(await w.staging.contains('file', digest)).toBe(false);
  });

  it('gives created files and directories the default modes, +x per read bit when executable', async () => {
    const w = await workspace();
    const scanned = await scanTree(w.root);
    const plain = await stage(w.staging, 'd/plain', 'p');
    const exec = await stage(w.staging, 'd/exec', 'e');
    const tree = dirEntry({ plain: fileEntry(plain), exec: fileEntry(exec, true), sub: dirEntry() });
    let result = await applyTransitions([{ path: 'd', old: undefined, new: tree }], transitionOptions(w, scanned));
    expect(result).toEqual({ results: [tree], problems: [], missingStagedFiles: false });
    expect(await modeOf(path.join(w.root, 'd'))).toBe(0o700);
    expect(await modeOf(path.join(w.root, 'd', 'sub'))).toBe(0o700);
    expect(await modeOf(path.join(w.root, 'd', 'plain'))).toBe(0o600);
    expect(await modeOf(path.join(w.root, 'd', 'exec'))).toBe(0o700);
    await stage(w.staging, 'e/plain', 'p');
    await stage(w.staging, 'e/exec', 'e');
    const custom = transitionOptions(w, scanned, { defaultFileMode: 0o644, defaultDirectoryMode: 0o750 });
    result = await applyTransitions([{ path: 'e', old: undefined, new: tree }], custom);
    expect(result.problems).toEqual([]);
    expect(await modeOf(path.join(w.root, 'e'))).toBe(0o750);
    expect(await modeOf(path.join(w.root, 'e', 'plain'))).toBe(0o644);
    expect(await modeOf(path.join(w.root, 'e', 'exec'))).toBe(0o755);
  });

  it('uses exactly the default file mode in manual permissions mode', async () => {
    const w = await workspace();
    const scanned = await scanTree(w.root);
    const a = await stage(w.staging, 'a', 'a');
    const b = await stage(w.staging, 'b', 'b');
    const options = transitionOptions(w, scanned, { permissionsMode: 'manual', defaultFileMode: 0o751 });
    const result = await applyTransitions(
      [
        { path: 'a', old: undefined, new: fileEntry(a, false) },
        { path: 'b', old: undefined, new: fileEntry(b, true) },
      ],
      options,
    );
    expect(result.problems).toEqual([]);
    expect(await modeOf(path.join(w.root, 'a'))).toBe(0o751);
    expect(await modeOf(path.join(w.root, 'b'))).toBe(0o751);
  });

  it('replaces a file with a directory and a directory with a file', async () => {
    const w = await workspace();
    await writeFile(path.join(w.root, 'was-file'), 'f');
    await mkdir(path.join(w.root, 'was-dir'));
    await writeFile(path.join(w.root, 'was-dir', 'inner'), 'i');
    await symlink('target', path.join(w.root, 'was-link'));
    const scanned = await scanTree(w.root);
    const inner = await stage(w.staging, 'was-file/inner', 'inner');
    const flat = await stage(w.staging, 'was-dir', 'flat');
    const toDir = dirEntry({ inner: fileEntry(inner) });
    const changes = [
      { path: 'was-file', old: child(scanned.entry, 'was-file'), new: toDir },
      { path: 'was-dir', old: child(scanned.entry, 'was-dir'), new: fileEntry(flat) },
      { path: 'was-link', old: child(scanned.entry, 'was-link'), new: dirEntry() },
    ];
    const result = await applyTransitions(changes, transitionOptions(w, scanned));
    expect(result).toEqual({ results: [toDir, fileEntry(flat), dirEntry()], problems: [], missingStagedFiles: false });
    expect(await readFile(path.join(w.root, 'was-file', 'inner'), 'utf8')).toBe('inner');
    expect(await readFile(path.join(w.root, 'was-dir'), 'utf8')).toBe('flat');
    expect((await lstat(path.join(w.root, 'was-link'))).isDirectory()).toBe(true);
  });

  it('records the part of a directory that was actually created', async () => {
    const w = await workspace();
    const scanned = await scanTree(w.root);
    const a = await stage(w.staging, 'dir/a', 'a');
    const tree = dirEntry({
      a: fileEntry(a),
      missing: fileEntry(sha1('never staged')),
      sub: dirEntry({ link: symlinkEntry('../a') }),
    });
    const result = await applyTransitions([{ path: 'dir', old: undefined, new: tree }], transitionOptions(w, scanned));
    expect(result.results).toEqual([dirEntry({ a: fileEntry(a), sub: dirEntry({ link: symlinkEntry('../a') }) })]);
    expect(result.missingStagedFiles).toBe(true);
    expect(result.problems.map((p) => p.path)).toEqual(['dir/missing']);
    expect((await readdir(path.join(w.root, 'dir'))).sort()).toEqual(['a', 'sub']);
    expect(await readlink(path.join(w.root, 'dir', 'sub', 'link'))).toBe('../a');
  });

  it('creates the root directory and removes a root file (path "")', async () => {
    const w = await workspace({ root: false });
    let scanned = await scanTree(w.root);
    const digest = await stage(w.staging, 'file', 'f');
    const tree = dirEntry({ file: fileEntry(digest) });
    const created = await applyTransitions([{ path: '', old: undefined, new: tree }], transitionOptions(w, scanned));
    expect(created).toEqual({ results: [tree], problems: [], missingStagedFiles: false });
    expect(await modeOf(w.root)).toBe(0o700);
    expect(await readFile(path.join(w.root, 'file'), 'utf8')).toBe('f');

    const fileRoot = path.join(w.base, 'single');
    await writeFile(fileRoot, 'one file');
    scanned = await scanTree(fileRoot);
    expect(scanned.cache.has('')).toBe(true);
    const options = { ...transitionOptions(w, scanned), root: fileRoot };
    const removed = await applyTransitions([{ path: '', old: scanned.entry, new: undefined }], options);
    expect(removed).toEqual({ results: [undefined], problems: [], missingStagedFiles: false });
    await expect(stat(fileRoot)).rejects.toThrow();
  });

  it('swaps and creates a file root', async () => {
    const w = await workspace({ root: false });
    const created = await stage(w.staging, '', 'first');
    let scanned = await scanTree(w.root);
    let result = await applyTransitions([{ path: '', old: undefined, new: fileEntry(created) }], transitionOptions(w, scanned));
    expect(result.problems).toEqual([]);
    expect(await readFile(w.root, 'utf8')).toBe('first');
    scanned = await scanTree(w.root);
    const second = await stage(w.staging, '', 'second');
    result = await applyTransitions([{ path: '', old: scanned.entry, new: fileEntry(second) }], transitionOptions(w, scanned));
    expect(result.problems).toEqual([]);
    expect(await readFile(w.root, 'utf8')).toBe('second');
  });

  it('moves files in from a staging root on another filesystem without leaving temporaries', async () => {
    // /dev/shm is tmpfs on Linux; where it is the same filesystem this still checks the link path.
    const other = await stat('/dev/shm').then(() => '/dev/shm', () => undefined);
    const w = await workspace(other === undefined ? {} : { stagingParent: other });
    await writeFile(path.join(w.root, 'swap'), 'old');
    const scanned = await scanTree(w.root);
    const a = await stage(w.staging, 'new', 'created across devices');
    const b = await stage(w.staging, 'swap', 'swapped across devices');
    const result = await applyTransitions(
      [
        { path: 'new', old: undefined, new: fileEntry(a, true) },
        { path: 'swap', old: child(scanned.entry, 'swap'), new: fileEntry(b) },
      ],
      transitionOptions(w, scanned),
    );
    expect(result.problems).toEqual([]);
    expect(await readFile(path.join(w.root, 'new'), 'utf8')).toBe('created across devices');
    expect(await modeOf(path.join(w.root, 'new'))).toBe(0o700);
    expect(await readFile(path.join(w.root, 'swap'), 'utf8')).toBe('swapped across devices');
    expect(await w.staging.contains('new', a)).toBe(false);
    expect(await w.staging.contains('swap', b)).toBe(false);
    expect(await temporaryNames(w.root)).toEqual([]);
  });

  it('places the files of a created directory through file threads, and those a thread cannot link (another filesystem) the usual way', async () => {
    const other = await stat('/dev/shm').then(() => '/dev/shm', () => undefined);
    for (const options of [{}, ...(other === undefined ? [] : [{ stagingParent: other }])]) {
      const w = await workspace(options);
      const scanned = await scanTree(w.root);
      const contents = new Map<string, Entry>();
      const expected = new Map<string, string>();
      for (let i = 0; i < 700; i++) {
        const content = `file ${i} of a new directory`;
        contents.set(`f${String(i).padStart(3, '0')}`, fileEntry(await stage(w.staging, `dir/f${String(i).padStart(3, '0')}`, content), i % 10 === 0));
        expected.set(`f${String(i).padStart(3, '0')}`, content);
      }
      const placed = new Map<string, CacheEntry>();
      const links = vi.spyOn(hashPool, 'linkThen');
      const result = await applyTransitions([{ path: 'dir', old: undefined, new: dirEntry(Object.fromEntries(contents)) }], transitionOptions(w, scanned, { placed }));
      expect(result.problems).toEqual([]);
      const created = result.results[0];
      expect(created?.kind === 'directory' ? [...created.contents.keys()] : []).toEqual([...contents.keys()]);
      for (const [name, content] of expected) expect(await readFile(path.join(w.root, 'dir', name), 'utf8')).toBe(content);
      expect(await modeOf(path.join(w.root, 'dir', 'f010'))).toBe(0o700);
      // Files placed by a link are remembered for the next scan; copies across filesystems are not.
      expect(placed.size).toBe('stagingParent' in options ? 0 : 700);
      // Executable files need a chmod of their staged file first: those are placed on the loop.
      // Across filesystems, the first link's EXDEV sends every later file the usual way.
      if ('stagingParent' in options) expect(links.mock.calls.length).toBeLessThan(630);
      else expect(links).toHaveBeenCalledTimes(630);
      links.mockRestore();
      expect(await temporaryNames(w.root)).toEqual([]);
    }
  });

  it('applies ownership to created files, directories and symbolic links', async () => {
    const w = await workspace();
    const scanned = await scanTree(w.root);
    // As root, hand everything to uid/gid 1; otherwise to ourselves (chown to self is allowed).
    const uid = process.getuid?.() === 0 ? 1 : (process.getuid?.() ?? 0);
    const gid = process.getuid?.() === 0 ? 1 : (process.getgid?.() ?? 0);
    const owner = await resolveOwnership(`id:${uid}`, 'user');
    const group = await resolveOwnership(`id:${gid}`, 'group');
    const digest = await stage(w.staging, 'd/f', 'f');
    const tree = dirEntry({ f: fileEntry(digest), l: symlinkEntry('f') });
    const result = await applyTransitions([{ path: 'd', old: undefined, new: tree }], transitionOptions(w, scanned, { owner, group }));
    expect(result.problems).toEqual([]);
    for (const name of ['d', 'd/f', 'd/l']) {
      const s = await lstat(path.join(w.root, name));
      expect([name, s.uid, s.gid]).toEqual([name, uid, gid]);
    }
  });

  it('handles many changes in one directory and leaves no temporary names', async () => {
    const w = await workspace();
    for (let i = 0; i < 50; i++) await writeFile(path.join(w.root, `old-${i}`), `old ${i}`);
    const scanned = await scanTree(w.root);
    const changes = [];
    for (let i = 0; i < 50; i++) {
      changes.push({ path: `old-${i}`, old: child(scanned.entry, `old-${i}`), new: undefined });
      changes.push({ path: `new-${i}`, old: undefined, new: fileEntry(await stage(w.staging, `new-${i}`, `new ${i}`)) });
    }
    const result = await applyTransitions(changes, transitionOptions(w, scanned));
    expect(result.problems).toEqual([]);
    const names = await readdir(w.root);
    expect(names).toHaveLength(50);
    expect(names.every((n) => n.startsWith('new-'))).toBe(true);
    expect(await temporaryNames(w.root)).toEqual([]);
  });
});
