import { spawnSync } from 'node:child_process';
import { chmod, chown, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import type { SyncManager } from '../../../src/sync/manager.js';
import { flushAndState, localSpec, openManager, sessionState, waitForState, type Workspace, useEngine } from '../../helpers/engine.js';
import { canonical, readTree, writeTree, type ObservedTree } from '../../helpers/tree.js';

const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));
const IS_ROOT = process.getuid?.() === 0;
const NOBODY = 65534;

async function failure(operation: Promise<unknown>): Promise<MutagenError> {
  const error = await operation.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(MutagenError);
  return error as MutagenError;
}

/** Bad input gets a clear error and changes nothing. */
describe('bad input', () => {
  let ws: Workspace;
  let manager: SyncManager;
  useEngine((w, m) => { ws = w; manager = m; }, () => manager);

  it('an unknown session is MUTAGEN_NOT_FOUND for every operation and leaves other sessions alone', async () => {
    await writeTree(ws.alpha, { keep: 'anchor' });
    const id = await manager.create(localSpec(ws.alpha, ws.beta, { name: 'real', watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    await flushAndState(manager, id);
    const unknown = { specifications: ['no-such-session'] };
    const signal = AbortSignal.timeout(10_000);
    const errors = await Promise.all([
      failure(manager.list(unknown, undefined, signal)),
      failure(manager.flush(unknown, false, signal)),
      failure(manager.pause(unknown, signal)),
      failure(manager.resume(unknown, {}, signal)),
      failure(manager.reset(unknown, {}, signal)),
      failure(manager.terminate(unknown, signal)),
      failure(manager.update('sync_unknown', localSpec(ws.alpha, ws.beta), signal)),
    ]);
    expect(errors.map((e) => e.code)).toEqual(Array<string>(7).fill('MUTAGEN_NOT_FOUND'));
    expect(errors[1]?.message).toBe('unable to locate requested sessions: specification "no-such-session" did not match any sessions');
    // A mix of a real and an unknown name fails as a whole: nothing is paused.
    const mixed = await failure(manager.pause({ specifications: ['real', 'no-such-session'] }, signal));
    expect(mixed.code).toBe('MUTAGEN_NOT_FOUND');
    const state = await sessionState(manager, id);
    expect([state.session.paused, state.status]).toEqual([false, 'watching']);
  });

  it.each([
    ['mutagen', '[abc', 'invalid ignore pattern "[abc": invalid glob: unterminated character class'],
    ['mutagen', '', 'invalid ignore pattern "": empty pattern'],
    ['mutagen', '!', 'invalid ignore pattern "!": negated empty pattern'],
    ['mutagen', '{a,b', 'invalid ignore pattern "{a,b": invalid glob: unterminated brace'],
    ['docker', '[abc', 'invalid ignore pattern "[abc": invalid glob: unterminated character class'],
  ] as const)('an invalid %s ignore pattern %j is rejected at create, paused or not, and nothing is saved', async (syntax, pattern, message) => {
    await writeTree(ws.alpha, { keep: 'anchor' });
    for (const paused of [false, true]) {
      const spec = localSpec(ws.alpha, ws.beta, { ignores: ['fine', pattern], ignoreSyntax: syntax });
      const error = await failure(manager.create(spec, { paused }, AbortSignal.timeout(10_000)));
      expect([error.code, error.message]).toEqual(['MUTAGEN_INVALID_IGNORE', message]);
    }
    expect((await manager.list({}, undefined, AbortSignal.timeout(5_000))).sessions).toEqual([]);
    for (const sub of ['sessions', 'archives', 'caches', 'staging']) expect(await readdir(path.join(ws.data, sub)), sub).toEqual([]);
    expect(await readTree(ws.beta)).toBeNull();
  });

  it('a corrupt session file is reported at start-up and kept as it was; other sessions still load', async () => {
    await writeTree(ws.alpha, { keep: 'anchor' });
    const good = await manager.create(localSpec(ws.alpha, ws.beta, { name: 'good', watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    const bad = await manager.create(localSpec(ws.alpha, ws.at('other'), { name: 'bad', watchMode: 'no-watch' }), { paused: true }, AbortSignal.timeout(10_000));
    await manager.close();
    const file = path.join(ws.data, 'sessions', `${bad}.json`);
    const original = await readFile(file, 'utf8');
    const corrupt = original.replace('"version": 1', '"version": 99');
    expect(corrupt).not.toBe(original);
    await writeFile(file, corrupt);
    const reopened = await openManager(ws.data);
    manager = reopened.manager;
    expect(reopened.failures).toHaveLength(1);
    expect(reopened.failures[0]?.file).toBe(file);
    expect(reopened.failures[0]?.error).toMatch(/^invalid record: version: /);
    const { sessions } = await manager.list({}, undefined, AbortSignal.timeout(5_000));
    expect(sessions.map((s) => s.session.id)).toEqual([good]);
    expect(await readFile(file, 'utf8')).toBe(corrupt);
    expect(await readdir(path.join(ws.data, 'archives'))).toContain(bad);
    // Truncated JSON is reported too.
    await manager.close();
    await writeFile(file, original.slice(0, 40));
    ({ manager } = await openManager(ws.data).then((o) => {
      expect(o.failures.map((f) => f.file)).toEqual([file]);
      expect(o.failures[0]?.error).toMatch(/JSON/);
      return o;
    }));
    expect(await readFile(file, 'utf8')).toBe(original.slice(0, 40));
  });

  it('a corrupt archive stops the session with a clear error instead of being reset', async () => {
    await writeTree(ws.alpha, { keep: 'anchor', a: 'a', b: 'b' });
    const id = await manager.create(localSpec(ws.alpha, ws.beta, { watchMode: 'no-watch' }), { paused: false }, AbortSignal.timeout(10_000));
    await flushAndState(manager, id);
    await manager.close();
    const archive = path.join(ws.data, 'archives', id);
    await writeFile(archive, 'definitely not msgpack');
    // Alpha deletes a file while down: with a lost ancestor that would read as "beta created it".
    await rm(path.join(ws.alpha, 'a'));
    ({ manager } = await openManager(ws.data));
    const state = await waitForState(manager, id, (s) => s.lastError !== undefined);
    expect(state.lastError).toMatch(/^unable to decode archive: /);
    expect(await readFile(archive, 'utf8')).toBe('definitely not msgpack');
    expect(canonical(await readTree(ws.alpha))).toEqual(canonical({ keep: 'anchor', b: 'b' }));
    expect(canonical(await readTree(ws.beta))).toEqual(canonical({ keep: 'anchor', a: 'a', b: 'b' }));
  });

  it('an unreadable root fails the cycle with a clear error and deletes nothing on the other side', async () => {
    await writeTree(ws.alpha, { keep: 'anchor', f: 'content' });
    await chmod(ws.base, 0o755);
    if (IS_ROOT) {
      for (const p of [ws.base, ws.alpha, path.join(ws.alpha, 'keep'), path.join(ws.alpha, 'f')]) await chown(p, NOBODY, NOBODY);
    }
    const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPOSITORY, 'test/helpers/engine-child.ts'), 'unreadable-root',
      JSON.stringify({ alpha: ws.alpha, beta: ws.beta, data: ws.at('child-data') })], {
      cwd: REPOSITORY, encoding: 'utf8', timeout: 90_000, ...(IS_ROOT ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    await chmod(ws.alpha, 0o755).catch(() => undefined);
    expect(child.status, child.stderr).toBe(0);
    const lines = child.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; flush?: string; lastError?: string | null; beta: ObservedTree; state?: string });
    const [synced, unreadable, restored] = lines;
    const expected = canonical({ keep: 'anchor', f: 'content' });
    expect(canonical(synced?.beta ?? null)).toEqual(expected);
    expect(unreadable?.flush).toBe('MUTAGEN_SESSION_FAILED');
    expect(unreadable?.lastError).toMatch(/unable to read synchronization root: unable to open directory: EACCES/);
    expect(canonical(unreadable?.beta ?? null)).toEqual(expected);
    expect([restored?.flush, restored?.lastError], restored?.state).toEqual(['ok', null]);
    expect(canonical(restored?.beta ?? null)).toEqual(expected);
  });
});
