import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { parseNetworkAddress } from '../../../src/forward/local/address.js';

function failure(endpoint: string): MutagenError {
  try {
    parseNetworkAddress(endpoint);
  } catch (error) {
    if (error instanceof MutagenError) return error;
    throw error;
  }
  throw new Error(`${endpoint} parsed`);
}

describe('parseNetworkAddress', () => {
  it.each([
    ['tcp:127.0.0.1:80', { kind: 'tcp', family: 0, host: '127.0.0.1', port: 80 }],
    ['tcp::8080', { kind: 'tcp', family: 0, host: '', port: 8080 }],
    ['tcp4::0', { kind: 'tcp', family: 4, host: '', port: 0 }],
    ['tcp6:[::1]:65535', { kind: 'tcp', family: 6, host: '::1', port: 65535 }],
    ['tcp:[::]:443', { kind: 'tcp', family: 0, host: '::', port: 443 }],
    ['tcp:[fe80::1%lo]:22', { kind: 'tcp', family: 0, host: 'fe80::1%lo', port: 22 }],
    ['tcp:localhost:5432', { kind: 'tcp', family: 0, host: 'localhost', port: 5432 }],
    ['tcp6:db.example-1.internal:5432', { kind: 'tcp', family: 6, host: 'db.example-1.internal', port: 5432 }],
    ['tcp:localhost:08080', { kind: 'tcp', family: 0, host: 'localhost', port: 8080 }],
    ['unix:/run/x.sock', { kind: 'unix', path: '/run/x.sock' }],
    ['unix:/tmp/with:colon and space', { kind: 'unix', path: '/tmp/with:colon and space' }],
  ])('%s', (endpoint, expected) => {
    expect(parseNetworkAddress(endpoint)).toEqual(expected);
  });

  it.each([
    ['tcp:127.0.0.1', 'missing port in address'],
    ['tcp:127.0.0.1:', 'missing port in address'],
    ['tcp:[::1]', 'missing port in address'],
    ['tcp:[::1', 'missing "]" in address'],
    ['tcp:[::1]x80', 'unexpected "x80" after "]"'],
    ['tcp:[localhost]:80', '"[localhost]" is not an IPv6 address'],
    ['tcp:::1:80', 'too many colons in address'],
    ['tcp:host:65536', 'invalid port "65536"'],
    ['tcp:host:-1', 'invalid port "-1"'],
    ['tcp:host:http', 'invalid port "http"'],
    ['tcp:host:0x50', 'invalid port "0x50"'],
    ['tcp:host:123456', 'invalid port "123456"'],
    ['tcp:', 'empty address'],
    ['tcp:a/b:80', 'invalid host "a/b"'],
    ['tcp4:[::1]:80', 'tcp4 endpoint with the IPv6 address ::1'],
    ['tcp6:127.0.0.1:80', 'tcp6 endpoint with the IPv4 address 127.0.0.1'],
    ['unix:', 'empty socket path'],
    ['unix:run/x.sock', 'socket path "run/x.sock" is not absolute'],
    ['unix:~/x.sock', 'socket path "~/x.sock" is not absolute'],
    ['udp:127.0.0.1:53', 'invalid protocol: udp'],
    ['127.0.0.1', 'missing protocol'],
  ])('rejects %s (%s)', (endpoint, problem) => {
    const error = failure(endpoint);
    expect(error.code).toBe('MUTAGEN_INVALID_URL');
    expect(error.message).toBe(`invalid forwarding endpoint "${endpoint}": ${problem}${problem === 'missing protocol' ? ' (expected tcp:, tcp4:, tcp6: or unix:)' : ''}`);
  });

  it('rejects Windows named pipes as unsupported', () => {
    const error = failure('npipe:\\\\.\\pipe\\x');
    expect(error.code).toBe('MUTAGEN_UNSUPPORTED');
    expect(error.message).toBe('Windows named pipes not supported on POSIX systems');
  });

  it('gives hints for the common mistakes', () => {
    expect(failure('tcp:8080').hint).toMatch(/host:port/);
    expect(failure('tcp:::1:80').hint).toMatch(/brackets/);
    expect(failure('tcp:h:99999').hint).toMatch(/0 to 65535/);
  });
});
