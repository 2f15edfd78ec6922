import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { linkSignals, raceAbort, Tripwire, withLinkedSignal } from '../../../src/base/abort.js';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

describe('raceAbort', () => {
  it('settles like the promise and leaves nothing attached to a long-lived signal', async () => {
    const lost = new AbortController();
    for (let i = 0; i < 1000; i++) expect(await raceAbort(Promise.resolve(i), lost.signal)).toBe(i);
    await expect(raceAbort(Promise.reject(new Error('write failed')), lost.signal)).rejects.toThrow('write failed');
    expect(listeners(lost.signal)).toBe(0);
  });

  it('rejects with the reason once the signal aborts, and at once when it already has', async () => {
    const lost = new AbortController();
    const pending = raceAbort(new Promise<never>(() => undefined), lost.signal);
    expect(listeners(lost.signal)).toBe(1);
    lost.abort(new Error('connection to agent lost'));
    await expect(pending).rejects.toThrow('connection to agent lost');
    await expect(raceAbort(Promise.resolve(1), lost.signal)).rejects.toThrow('connection to agent lost');
  });
});

describe('linkSignals', () => {
  it('aborts with an input\'s reason, and after close() no longer listens to the inputs', async () => {
    const shutdown = new AbortController();
    const call = new AbortController();
    const link = linkSignals([call.signal, shutdown.signal, undefined]);
    shutdown.abort(new Error('endpoint shut down'));
    expect(link.signal.reason).toEqual(new Error('endpoint shut down'));
    expect(listeners(call.signal)).toBe(0);

    const longLived = new AbortController();
    for (let i = 0; i < 1000; i++) await withLinkedSignal([longLived.signal], (signal) => Promise.resolve(signal.aborted));
    expect(listeners(longLived.signal)).toBe(0);
    const closed = linkSignals([longLived.signal]);
    closed.close();
    longLived.abort(new Error('late'));
    expect(closed.signal.aborted).toBe(false);
    expect(linkSignals([longLived.signal]).signal.reason).toEqual(new Error('late'));
  });
});

describe('Tripwire', () => {
  it('settles races like their promises until tripped, keeping nothing once they settled', async () => {
    const lost = new Tripwire();
    for (let i = 0; i < 1000; i++) expect(await lost.race(Promise.resolve(i))).toBe(i);
    await expect(lost.race(Promise.reject(new Error('write failed')))).rejects.toThrow('write failed');
    expect([lost.waiting, lost.tripped]).toEqual([0, false]);
    const pending = [lost.race(new Promise<never>(() => undefined)), lost.race(new Promise<never>(() => undefined))];
    expect(lost.waiting).toBe(2);
    lost.trip(new Error('connection to agent lost'));
    lost.trip(new Error('second failure'));
    for (const race of pending) await expect(race).rejects.toThrow('connection to agent lost');
    await expect(lost.race(Promise.resolve(1))).rejects.toThrow('connection to agent lost');
    expect([lost.waiting, lost.tripped]).toEqual([0, true]);
  });
});
