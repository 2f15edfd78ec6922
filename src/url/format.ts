import { assertNever } from '../base/errors.js';
import type { EndpointUrl } from '../model/url.js';
import { isWindowsDrivePath } from './local-path.js';

const INVALID_DOCKER_URL = '<invalid-docker-url>';

/** A host that needs brackets to survive re-parsing (an IPv6 literal contains `:`). */
function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function withUser(url: EndpointUrl, host: string): string {
  return url.user === undefined || url.user === '' ? host : `${url.user}@${host}`;
}

function formatDocker(url: EndpointUrl): string {
  const base = `docker://${withUser(url, url.host ?? '')}`;
  if (url.kind === 'forward') return `${base}:${url.path}`;
  if (url.path.startsWith('/')) return `${base}${url.path}`;
  if (url.path.startsWith('~') || isWindowsDrivePath(url.path)) return `${base}/${url.path}`;
  return INVALID_DOCKER_URL;
}

/**
 * The display form of a URL (cli spec §4.2): local → the path; SSH → `[user@]host[:port]:path`
 * (port only when non-zero; [ts] IPv6 hosts in brackets); Docker sync →
 * `docker://[user@]container` + path (a `/` before `~…` or a Windows path); Docker forward →
 * `docker://[user@]container:<endpoint>`. Captured Docker variables are not included.
 */
export function formatUrl(url: EndpointUrl): string {
  switch (url.protocol) {
    case 'local':
      return url.path;
    case 'ssh': {
      const port = url.port === undefined || url.port === 0 ? '' : `:${url.port}`;
      return `${withUser(url, formatHost(url.host ?? ''))}${port}:${url.path}`;
    }
    case 'docker':
      return formatDocker(url);
    default:
      return assertNever(url.protocol, 'URL protocol');
  }
}
