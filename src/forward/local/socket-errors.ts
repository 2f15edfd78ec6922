import { errnoCode, errorMessage } from '../../base/errors.js';

/** Short lowercase reasons for the errno codes a bind, listen or connect commonly fails with. */
const REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host is down',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'temporary failure in name resolution',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a path component is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this host',
  EAFNOSUPPORT: 'address family not supported',
  ENOTSOCK: 'not a socket',
  ENAMETOOLONG: 'path too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
};

/** `connection refused`, or the error's own message when the code is not one we name. */
export function describeSocketError(error: unknown): string {
  const code = errnoCode(error);
  const reason = code === undefined ? undefined : REASONS[code];
  return reason ?? errorMessage(error);
}

/** Byte limit of a Unix socket path (sun_path minus its NUL): 107 on Linux, 103 on macOS and the BSDs. */
export function maxUnixSocketPathBytes(platform: NodeJS.Platform = process.platform): number {
  return platform === 'linux' || platform === 'android' ? 107 : 103;
}

/** The problem with a socket path's length, or undefined when it fits. */
export function unixPathLengthProblem(path: string): { readonly problem: string; readonly hint: string } | undefined {
  const bytes = Buffer.byteLength(path);
  const limit = maxUnixSocketPathBytes();
  if (bytes <= limit) return undefined;
  return {
    problem: `socket path is too long (${bytes} bytes; ${process.platform} allows at most ${limit})`,
    hint: `Unix socket paths are limited to ${limit} bytes on this system; choose a shorter path (for example in /tmp or closer to /).`,
  };
}
