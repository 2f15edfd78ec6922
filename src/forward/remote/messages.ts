import path from 'node:path';
import * as z from 'zod';
import { MutagenError, ProtocolError } from '../../base/errors.js';
import type { ForwardRole, SocketOptions } from '../endpoint.js';

/**
 * The forwarder protocol (daemon ⇄ agent in `forwarder` mode), after the wire handshake:
 * - stream 1 (opened by the daemon) is a Channel. Requests from the daemon: `initialize`
 *   (InitializeParams → null; once), `shutdown` (null → null: closes the remote listener).
 *   Event from the agent: `failed` (a WireError: the remote listener cannot accept any more).
 * - source role: the agent opens one stream per accepted connection.
 * - destination role: the daemon opens one stream per dial; the agent dials and writes
 *   DIAL_STATUS_OK first, or resets the stream with the dial error (MUTAGEN_FORWARD_DIAL).
 */
export const FORWARD_CHANNEL_STREAM_ID = 1;

/** The one byte the agent writes on a destination stream once its dial succeeded. */
export const DIAL_STATUS_OK = 0x00;

/** Event name of a remote listener failure. */
export const FAILED_EVENT = 'failed';

export interface InitializeParams {
  readonly role: ForwardRole;
  /** As written in the URL: remote `unix:` paths may be `~`, `~/x` or home-relative. */
  readonly endpoint: string;
  readonly socket: SocketOptions;
}

const ownership = z.string().min(1).max(256);
const initializeSchema = z.strictObject({
  role: z.enum(['source', 'destination']),
  endpoint: z.string().min(1).max(4096),
  socket: z.strictObject({
    overwriteMode: z.enum(['leave', 'overwrite']),
    owner: ownership.optional(),
    group: ownership.optional(),
    permissionMode: z.number().int().min(0).max(0o777),
  }),
});

function socketOptions(socket: SocketOptions | z.infer<typeof initializeSchema>['socket']): SocketOptions {
  return {
    overwriteMode: socket.overwriteMode,
    permissionMode: socket.permissionMode,
    ...(socket.owner === undefined ? {} : { owner: socket.owner }),
    ...(socket.group === undefined ? {} : { group: socket.group }),
  };
}

/** The request as sent (no undefined-valued keys on the wire). */
export function encodeInitialize(params: InitializeParams): InitializeParams {
  return { role: params.role, endpoint: params.endpoint, socket: socketOptions(params.socket) };
}

/** Validates an initialize request from the daemon; MUTAGEN_PROTOCOL says what is wrong. */
export function parseInitialize(value: unknown): InitializeParams {
  const parsed = initializeSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `;
    throw new ProtocolError(`invalid initialize request from daemon: ${where}${issue?.message ?? 'invalid'}`);
  }
  return { role: parsed.data.role, endpoint: parsed.data.endpoint, socket: socketOptions(parsed.data.socket) };
}

/**
 * `unix:` endpoints on a remote: `~`, `~/x` and relative paths resolve against the remote home
 * (cli spec §4.3); other protocols, and empty paths (left for the address parser to reject),
 * pass unchanged.
 */
export function resolveRemoteEndpoint(endpoint: string, home: string): string {
  if (!endpoint.startsWith('unix:')) return endpoint;
  const target = endpoint.slice('unix:'.length);
  if (target === '') return endpoint;
  if (target === '~') return `unix:${home}`;
  if (target.startsWith('~/')) return `unix:${path.join(home, target.slice(2))}`;
  if (target.startsWith('~')) {
    throw new MutagenError('MUTAGEN_INVALID_URL', `unable to resolve ${JSON.stringify(target)}: other users' home directories are not supported`, {
      hint: 'Use an absolute socket path or one relative to the remote home directory.',
    });
  }
  return `unix:${path.isAbsolute(target) ? path.normalize(target) : path.resolve(home, target)}`;
}
