import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import type { EndpointUrl } from '../../../src/model/url.js';
import { lookupUserHome } from '../../../src/url/local-path.js';
import type { ParseContext } from '../../../src/url/parse.js';
import { parseForwardUrl, parseNetworkEndpoint, parseSyncUrl } from '../../../src/url/parse.js';

const context: ParseContext = { cwd: '/home/u/proj', home: '/home/u', env: {}, platform: 'linux' };

function syncUrl(text: string, side: 'alpha' | 'beta' = 'alpha', ctx: ParseContext = context): EndpointUrl {
  return parseSyncUrl(text, side, ctx);
}

function forwardUrl(text: string, side: 'source' | 'destination' = 'source', ctx: ParseContext = context): EndpointUrl {
  return parseForwardUrl(text, side, ctx);
}

function failure(run: () => unknown): MutagenError {
  try {
    run();
  } catch (error) {
    if (error instanceof MutagenError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

function syncError(text: string, ctx: ParseContext = context): string {
  const error = failure(() => syncUrl(text, 'alpha', ctx));
  expect(error.code).toBe('MUTAGEN_INVALID_URL');
  return error.message;
}

function forwardError(text: string): string {
  const error = failure(() => forwardUrl(text));
  expect(error.code).toBe('MUTAGEN_INVALID_URL');
  return error.message;
}

describe('parseSyncUrl: §4.4 examples 1-29', () => {
  it('1: trailing slash is removed', () => {
    expect(syncUrl('/srv/app/')).toEqual({ kind: 'sync', protocol: 'local', path: '/srv/app' });
  });
  it('2: relative paths resolve against cwd', () => {
    expect(syncUrl('rel/dir')).toEqual({ kind: 'sync', protocol: 'local', path: '/home/u/proj/rel/dir' });
  });
  it('3: ~ expands to the home directory', () => {
    expect(syncUrl('~/code')).toEqual({ kind: 'sync', protocol: 'local', path: '/home/u/code' });
  });
  it('4: an unknown ~user fails tilde expansion', () => {
    expect(syncError('~nosuchuser/x')).toBe(
      'unable to normalize path: unable to perform tilde expansion: unable to lookup user: unknown user nosuchuser',
    );
  });
  it('5: a slash before the colon makes it local', () => {
    expect(syncUrl('/this/is/a:path')).toEqual({ kind: 'sync', protocol: 'local', path: '/this/is/a:path' });
  });
  it('6: ./a:b is local', () => {
    expect(syncUrl('./a:b')).toEqual({ kind: 'sync', protocol: 'local', path: '/home/u/proj/a:b' });
  });
  it('7: a:b is ssh', () => {
    expect(syncUrl('a:b')).toEqual({ kind: 'sync', protocol: 'ssh', host: 'a', path: 'b' });
  });
  it('8: host:path keeps a remote-home-relative path', () => {
    expect(syncUrl('host:path')).toEqual({ kind: 'sync', protocol: 'ssh', host: 'host', path: 'path' });
  });
  it('9: user@host:/var/www', () => {
    expect(syncUrl('user@host:/var/www')).toEqual({ kind: 'sync', protocol: 'ssh', user: 'user', host: 'host', path: '/var/www' });
  });
  it('10: a port between colons', () => {
    expect(syncUrl('user@host:2222:/var/www')).toEqual({
      kind: 'sync', protocol: 'ssh', user: 'user', host: 'host', port: 2222, path: '/var/www',
    });
  });
  it('11: port 00 is the default port', () => {
    const url = syncUrl('user@host:00:path');
    expect(url).toEqual({ kind: 'sync', protocol: 'ssh', user: 'user', host: 'host', path: 'path' });
    expect(url.port ?? 0).toBe(0);
  });
  it('12: port 65536 is invalid', () => {
    expect(syncError('user@host:65536:p')).toBe('invalid port value specified');
  });
  it('13: an empty port is invalid', () => {
    expect(syncError('user@host::path')).toBe('invalid port value specified');
  });
  it('14: non-digits are not a port', () => {
    expect(syncUrl('user@host:aaa:path')).toEqual({ kind: 'sync', protocol: 'ssh', user: 'user', host: 'host', path: 'aaa:path' });
  });
  it('15: host:22 is path 22, not a port', () => {
    expect(syncUrl('host:22')).toEqual({ kind: 'sync', protocol: 'ssh', host: 'host', path: '22' });
  });
  it('16: host:22: has an empty path', () => {
    expect(syncError('host:22:')).toBe('empty path');
  });
  it('17: :path has an empty hostname', () => {
    expect(syncError(':path')).toBe('empty hostname');
  });
  it('18: @host:path has an empty username', () => {
    expect(syncError('@host:path')).toBe('empty username specified');
  });
  it('19: later @s belong to the host', () => {
    expect(syncUrl('user@ho@st:path')).toEqual({ kind: 'sync', protocol: 'ssh', user: 'user', host: 'ho@st', path: 'path' });
  });
  it('20: Unicode user, host and path', () => {
    expect(syncUrl('üsér@høst:23:пат')).toEqual({ kind: 'sync', protocol: 'ssh', user: 'üsér', host: 'høst', port: 23, path: 'пат' });
  });
  it('21: C:/local/path is ssh on POSIX, local on Windows', () => {
    expect(syncUrl('C:/local/path')).toEqual({ kind: 'sync', protocol: 'ssh', host: 'C', path: '/local/path' });
    const windows: ParseContext = { cwd: 'C:\\Users\\u\\proj', home: 'C:\\Users\\u', env: {}, platform: 'win32' };
    expect(syncUrl('C:/local/path', 'alpha', windows)).toEqual({ kind: 'sync', protocol: 'local', path: 'C:\\local\\path' });
    expect(syncUrl('D:\\data\\', 'alpha', windows)).toEqual({ kind: 'sync', protocol: 'local', path: 'D:\\data' });
    expect(syncUrl('rel\\dir', 'alpha', windows)).toEqual({ kind: 'sync', protocol: 'local', path: 'C:\\Users\\u\\proj\\rel\\dir' });
    expect(syncUrl('~\\code', 'alpha', windows)).toEqual({ kind: 'sync', protocol: 'local', path: 'C:\\Users\\u\\code' });
  });
  it('22: [ts] a bracketed IPv6 host', () => {
    expect(syncUrl('user@[::1]:22:/x')).toEqual({ kind: 'sync', protocol: 'ssh', user: 'user', host: '::1', port: 22, path: '/x' });
    expect(syncUrl('[fe80::1%eth0]:/srv')).toEqual({ kind: 'sync', protocol: 'ssh', host: 'fe80::1%eth0', path: '/srv' });
    expect(syncUrl('[::1]:relative')).toEqual({ kind: 'sync', protocol: 'ssh', host: '::1', path: 'relative' });
  });
  it('23: an unbracketed IPv6 literal has an empty hostname', () => {
    expect(syncError('::1:/x')).toBe('empty hostname');
  });
  it('24: [ts] volume:// needs Compose integration', () => {
    const error = failure(() => syncUrl('volume://data'));
    expect(error.code).toBe('MUTAGEN_INVALID_URL');
    expect(error.message).toContain('volume://');
    expect(error.message).toContain('Compose integration');
    expect(error.hint).toContain('docker://');
    expect(syncError('Network://web')).toContain('Compose integration');
  });
  it('25: docker://ctr/var/www', () => {
    expect(syncUrl('docker://ctr/var/www')).toEqual({ kind: 'sync', protocol: 'docker', host: 'ctr', path: '/var/www', environment: {} });
  });
  it('26: docker home-relative paths lose their leading slash', () => {
    expect(syncUrl('docker://u@ctr/~/project')).toEqual({
      kind: 'sync', protocol: 'docker', user: 'u', host: 'ctr', path: '~/project', environment: {},
    });
    expect(syncUrl('docker://ctr/~other/x').path).toBe('~other/x');
  });
  it('27: docker Windows paths', () => {
    expect(syncUrl('docker://ctr/C:\\data').path).toBe('C:\\data');
    expect(syncUrl('docker://ctr/c:/data').path).toBe('c:/data');
  });
  it('28: docker without a path', () => {
    expect(syncError('docker://ctr')).toBe('missing path');
  });
  it('29: docker without a container', () => {
    expect(syncError('docker:///data')).toBe('empty container name');
    expect(syncError('docker://')).toBe('empty container name');
  });
});

describe('parseSyncUrl: other rules', () => {
  it('rejects the empty URL', () => {
    expect(syncError('')).toBe('empty URL');
  });
  it('cleans . and .. and repeated slashes without resolving symlinks', () => {
    expect(syncUrl('../other/./x//y/')).toEqual({ kind: 'sync', protocol: 'local', path: '/home/u/other/x/y' });
    expect(syncUrl('.').path).toBe('/home/u/proj');
    expect(syncUrl('~').path).toBe('/home/u');
  });
  it('does not expand ${VAR}', () => {
    expect(syncUrl('${HOME}/x').path).toBe('/home/u/proj/${HOME}/x');
  });
  it('expands ~user from the passwd database', () => {
    expect(syncUrl('~root/x').path).toBe(`${lookupUserHome('root').replace(/\/$/, '')}/x`);
  });
  it('fails ~ when there is no home', () => {
    expect(syncError('~/x', { ...context, home: '' })).toContain('unable to perform tilde expansion');
  });
  it('treats the docker prefix case-insensitively', () => {
    expect(syncUrl('DOCKER://ctr/x')).toMatchObject({ protocol: 'docker', host: 'ctr', path: '/x' });
  });
  it('allows @ after the first / in docker paths', () => {
    expect(syncUrl('docker://ctr/a@b')).toMatchObject({ host: 'ctr', path: '/a@b' });
    expect(syncUrl('docker://ctr/a@b')).not.toHaveProperty('user');
  });
  it('rejects malformed bracketed hosts', () => {
    expect(syncError('[::1/x:y')).toBe('unterminated bracketed hostname');
    expect(syncError('[::1]x:/y')).toContain('bracketed hostname');
    expect(syncError('[]:/y')).toBe('empty hostname');
  });
});

describe('Docker environment capture (§4.1)', () => {
  const env = {
    DOCKER_HOST: 'unix:///var/run/docker.sock',
    DOCKER_TLS_VERIFY: '1',
    DOCKER_CONTEXT: '',
    MUTAGEN_ALPHA_DOCKER_HOST: 'tcp://alpha:2376',
    MUTAGEN_BETA_DOCKER_TLS_VERIFY: '',
    MUTAGEN_SOURCE_DOCKER_CONFIG: '/src/config',
    MUTAGEN_DESTINATION_DOCKER_API_VERSION: '1.41',
    DOCKER_CERT_PATH: undefined,
    UNRELATED: 'x',
  };
  const withEnv: ParseContext = { ...context, env };

  it('alpha-specific variables win over plain ones', () => {
    expect(syncUrl('docker://ctr/x', 'alpha', withEnv).environment).toEqual({
      DOCKER_HOST: 'tcp://alpha:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CONTEXT: '',
    });
  });
  it('beta-specific set-but-empty variables are captured as empty', () => {
    expect(syncUrl('docker://ctr/x', 'beta', withEnv).environment).toEqual({
      DOCKER_HOST: 'unix:///var/run/docker.sock', DOCKER_TLS_VERIFY: '', DOCKER_CONTEXT: '',
    });
  });
  it('forward URLs use the source and destination prefixes', () => {
    expect(forwardUrl('docker://ctr:tcp:localhost:80', 'source', withEnv).environment).toEqual({
      DOCKER_HOST: 'unix:///var/run/docker.sock', DOCKER_TLS_VERIFY: '1', DOCKER_CONTEXT: '', DOCKER_CONFIG: '/src/config',
    });
    expect(forwardUrl('docker://ctr:tcp:localhost:80', 'destination', withEnv).environment).toEqual({
      DOCKER_HOST: 'unix:///var/run/docker.sock', DOCKER_TLS_VERIFY: '1', DOCKER_CONTEXT: '', DOCKER_API_VERSION: '1.41',
    });
  });
  it('captures all seven variables and nothing else', () => {
    const all = Object.fromEntries(
      ['DOCKER_HOST', 'DOCKER_TLS', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_CONTEXT', 'DOCKER_CONFIG', 'DOCKER_API_VERSION', 'DOCKER_OTHER']
        .map((name) => [name, name.toLowerCase()]),
    );
    const captured = syncUrl('docker://ctr/x', 'alpha', { ...context, env: all }).environment ?? {};
    expect(Object.keys(captured).sort()).toEqual(
      ['DOCKER_API_VERSION', 'DOCKER_CERT_PATH', 'DOCKER_CONFIG', 'DOCKER_CONTEXT', 'DOCKER_HOST', 'DOCKER_TLS', 'DOCKER_TLS_VERIFY'],
    );
  });
  it('non-docker URLs capture nothing', () => {
    expect(syncUrl('host:/x', 'alpha', withEnv)).not.toHaveProperty('environment');
    expect(syncUrl('/x', 'alpha', withEnv)).not.toHaveProperty('environment');
  });
});

describe('parseForwardUrl: §4.4 examples 30-40', () => {
  it('30: a local TCP endpoint', () => {
    expect(forwardUrl('tcp:127.0.0.1:8080')).toEqual({ kind: 'forward', protocol: 'local', path: 'tcp:127.0.0.1:8080' });
  });
  it('31: all interfaces', () => {
    expect(forwardUrl('tcp::8080')).toEqual({ kind: 'forward', protocol: 'local', path: 'tcp::8080' });
  });
  it('32: local unix socket paths are made absolute', () => {
    expect(forwardUrl('unix:rel/s.sock')).toEqual({ kind: 'forward', protocol: 'local', path: 'unix:/home/u/proj/rel/s.sock' });
    expect(forwardUrl('unix:~/s.sock').path).toBe('unix:/home/u/s.sock');
  });
  it('33: ssh with an endpoint', () => {
    expect(forwardUrl('host:tcp4:localhost:5050')).toEqual({ kind: 'forward', protocol: 'ssh', host: 'host', path: 'tcp4:localhost:5050' });
  });
  it('34: ssh with a port and a remote-expanded socket', () => {
    expect(forwardUrl('user@host:2222:unix:~/s.sock')).toEqual({
      kind: 'forward', protocol: 'ssh', user: 'user', host: 'host', port: 2222, path: 'unix:~/s.sock',
    });
  });
  it('35: docker with a user', () => {
    expect(forwardUrl('docker://u@ctr:unix:/var/run/docker.sock')).toEqual({
      kind: 'forward', protocol: 'docker', user: 'u', host: 'ctr', path: 'unix:/var/run/docker.sock', environment: {},
    });
  });
  it('36: docker without an endpoint', () => {
    expect(forwardError('docker://ctr')).toBe('missing forwarding endpoint');
  });
  it('37: docker with an invalid protocol', () => {
    expect(forwardError('docker://ctr:udp:x:1')).toBe('invalid forwarding endpoint URL: invalid protocol: udp');
  });
  it('38: udp:… is taken as ssh host udp', () => {
    expect(forwardError('udp:localhost:53')).toBe('invalid forwarding endpoint URL: invalid protocol: localhost');
  });
  it('39: an empty address', () => {
    expect(forwardError('tcp:')).toBe('invalid forwarding endpoint URL: empty address');
  });
  it('40: host:port is not an endpoint', () => {
    expect(forwardError('localhost:8080')).toBe('invalid forwarding endpoint URL: invalid protocol: localhost');
  });
});

describe('parseForwardUrl: other rules', () => {
  it('rejects empty, colon-less and compose URLs', () => {
    expect(forwardError('')).toBe('empty URL');
    expect(forwardError('localhost')).toBe('invalid forwarding endpoint URL: incorrectly formatted URL');
    expect(forwardError('network://web:tcp:x:1')).toContain('Compose integration');
  });
  it('accepts IPv6 TCP addresses locally and bracketed ssh hosts', () => {
    expect(forwardUrl('tcp6:[::1]:5543').path).toBe('tcp6:[::1]:5543');
    expect(forwardUrl('u@[::1]:22:tcp:localhost:80')).toEqual({
      kind: 'forward', protocol: 'ssh', user: 'u', host: '::1', port: 22, path: 'tcp:localhost:80',
    });
  });
  it('keeps npipe endpoints verbatim', () => {
    expect(forwardUrl('npipe:\\\\.\\pipe\\x').path).toBe('npipe:\\\\.\\pipe\\x');
  });
  it('reports bad ssh endpoints and docker containers', () => {
    expect(forwardError('host:22:')).toBe('invalid forwarding endpoint URL: empty URL');
    expect(forwardError('docker://:tcp:x:1')).toBe('empty container name');
    expect(forwardError('docker://ctr:tcp:')).toBe('invalid forwarding endpoint URL: empty address');
  });
});

describe('parseNetworkEndpoint', () => {
  it('splits protocol and address', () => {
    expect(parseNetworkEndpoint('tcp:127.0.0.1:8080')).toEqual({ protocol: 'tcp', address: '127.0.0.1:8080' });
    expect(parseNetworkEndpoint('unix:/x.sock')).toEqual({ protocol: 'unix', address: '/x.sock' });
    for (const protocol of ['tcp4', 'tcp6', 'npipe'] as const) {
      expect(parseNetworkEndpoint(`${protocol}:a`)).toEqual({ protocol, address: 'a' });
    }
  });
  it('reports each error with its bare fragment', () => {
    const message = (text: string): string => failure(() => parseNetworkEndpoint(text)).message;
    expect(message('')).toBe('empty URL');
    expect(message('tcp')).toBe('incorrectly formatted URL');
    expect(message('TCP:x')).toBe('invalid protocol: TCP');
    expect(message('udp:x')).toBe('invalid protocol: udp');
    expect(message('unix:')).toBe('empty address');
  });
});
