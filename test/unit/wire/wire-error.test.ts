import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { decodeValue, encodeValue } from '../../../src/wire/codec.js';
import { fromWireError, MAX_WIRE_ERROR_TEXT, toWireError } from '../../../src/wire/wire-error.js';

describe('wire errors', () => {
  it('keeps code, message and hint of known errors across an encode/decode', () => {
    const error = new MutagenError('MUTAGEN_SCAN', 'unable to scan: permission denied', { hint: 'Fix the permissions.' });
    const back = fromWireError(decodeValue(encodeValue(toWireError(error))));
    expect(back).toBeInstanceOf(MutagenError);
    expect({ code: back.code, message: back.message, hint: back.hint }).toEqual({
      code: 'MUTAGEN_SCAN', message: 'unable to scan: permission denied', hint: 'Fix the permissions.',
    });
  });

  it('turns foreign errors into internal ones without a stack, and aborts into cancellations', () => {
    expect(toWireError(new TypeError('boom'))).toEqual({ code: 'MUTAGEN_INTERNAL', message: 'boom' });
    expect(toWireError('text')).toEqual({ code: 'MUTAGEN_INTERNAL', message: 'text' });
    const abort = new AbortController();
    abort.abort();
    expect(toWireError(abort.signal.reason)).toEqual({ code: 'MUTAGEN_CANCELLED', message: 'operation cancelled' });
  });

  it('maps unknown codes from the peer to MUTAGEN_ENDPOINT', () => {
    const error = fromWireError({ code: 'MUTAGEN_FROM_THE_FUTURE', message: 'new thing failed' });
    expect([error.code, error.message, error.hint]).toEqual(['MUTAGEN_ENDPOINT', 'new thing failed', undefined]);
  });

  it('caps long messages and hints', () => {
    const error = fromWireError({ code: 'MUTAGEN_SCAN', message: 'x'.repeat(100_000), hint: 'y'.repeat(100_000) });
    expect(error.message.length).toBe(MAX_WIRE_ERROR_TEXT);
    expect(error.hint?.length).toBe(MAX_WIRE_ERROR_TEXT);
    expect(toWireError(new MutagenError('MUTAGEN_SCAN', 'z'.repeat(50_000))).message.length).toBe(MAX_WIRE_ERROR_TEXT);
  });

  it.each([undefined, null, 5, 'text', { code: 1, message: 'x' }, { code: 'MUTAGEN_SCAN' }, { code: 'MUTAGEN_SCAN', message: 'x', hint: 3 }])(
    'reports a malformed error value (%j) as a protocol error', (value) => {
      const error = fromWireError(value);
      expect([error.code, error.message]).toEqual(['MUTAGEN_PROTOCOL', 'malformed error from the remote']);
    });
});
