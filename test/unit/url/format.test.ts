import { describe, expect, it } from 'vitest';
import type { EndpointUrl } from '../../../src/model/url.js';
import { formatUrl } from '../../../src/url/format.js';
import type { ParseContext } from '../../../src/url/parse.js';
import { parseForwardUrl, parseSyncUrl } from '../../../src/url/parse.js';

const context: ParseContext = { cwd: '/home/u/proj', home: '/home/u', env: { DOCKER_HOST: 'tcp://h:1' }, platform: 'linux' };

describe('formatUrl (§4.2)', () => {
  it('prints local paths as they are', () => {
    expect(formatUrl({ kind: 'sync', protocol: 'local', path: '/srv/app' })).toBe('/srv/app');
    expect(formatUrl({ kind: 'forward', protocol: 'local', path: 'tcp::8080' })).toBe('tcp::8080');
  });
  it('prints ssh URLs with the port only when non-zero', () => {
    expect(formatUrl({ kind: 'sync', protocol: 'ssh', host: 'host', path: 'path' })).toBe('host:path');
    expect(formatUrl({ kind: 'sync', protocol: 'ssh', user: 'u', host: 'h', port: 0, path: '/p' })).toBe('u@h:/p');
    expect(formatUrl({ kind: 'sync', protocol: 'ssh', user: 'u', host: 'h', port: 2222, path: '/p' })).toBe('u@h:2222:/p');
    expect(formatUrl({ kind: 'forward', protocol: 'ssh', host: 'h', path: 'tcp:localhost:80' })).toBe('h:tcp:localhost:80');
  });
  it('[ts] brackets IPv6 hosts', () => {
    expect(formatUrl({ kind: 'sync', protocol: 'ssh', user: 'u', host: '::1', port: 22, path: '/x' })).toBe('u@[::1]:22:/x');
  });
  it('prints docker sync URLs with a slash before home-relative and Windows paths', () => {
    const docker = (path: string, user?: string): EndpointUrl => ({
      kind: 'sync', protocol: 'docker', host: 'ctr', path, environment: { DOCKER_HOST: 'x' }, ...(user === undefined ? {} : { user }),
    });
    expect(formatUrl(docker('/var/www'))).toBe('docker://ctr/var/www');
    expect(formatUrl(docker('~/project', 'u'))).toBe('docker://u@ctr/~/project');
    expect(formatUrl(docker('C:\\data'))).toBe('docker://ctr/C:\\data');
    expect(formatUrl(docker('relative'))).toBe('<invalid-docker-url>');
  });
  it('prints docker forward URLs with a colon before the endpoint', () => {
    expect(formatUrl({ kind: 'forward', protocol: 'docker', user: 'u', host: 'ctr', path: 'unix:/var/run/docker.sock' }))
      .toBe('docker://u@ctr:unix:/var/run/docker.sock');
  });
  it('round-trips through the parsers', () => {
    const sync = ['/srv/app', 'host:path', 'user@host:2222:/var/www', 'u@[::1]:22:/x', 'docker://u@ctr/~/project',
      'docker://ctr/C:\\data', 'docker://ctr/var/www', 'üsér@høst:23:пат'];
    for (const text of sync) expect(formatUrl(parseSyncUrl(text, 'alpha', context))).toBe(text);
    const forward = ['tcp:127.0.0.1:8080', 'unix:/tmp/s.sock', 'user@host:2222:unix:~/s.sock', 'docker://u@ctr:unix:/var/run/docker.sock'];
    for (const text of forward) expect(formatUrl(parseForwardUrl(text, 'source', context))).toBe(text);
  });
});
