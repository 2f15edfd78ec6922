import { mergeForwardConfiguration } from '../model/configuration.js';
import type { ForwardConfiguration } from '../model/configuration.js';
import type { SocketOptions } from './endpoint.js';

/** Mode bits of a created Unix socket when none is configured (cli spec §5.2). */
export const DEFAULT_SOCKET_PERMISSION_MODE = 0o600;

/**
 * The socket options one endpoint runs with: `session ⊕ endpoint` (cli spec §5.3: a set value of
 * the endpoint wins; empty strings and 0 count as unset), then defaults `leave` and 0o600.
 * Pure; values are not validated here (the listener rejects a bad owner or mode when it binds).
 */
export function resolveSocketOptions(session: ForwardConfiguration, endpoint: ForwardConfiguration): SocketOptions {
  const { socket } = mergeForwardConfiguration(session, endpoint);
  return {
    overwriteMode: socket.overwriteMode ?? 'leave',
    permissionMode: socket.permissionMode === undefined || socket.permissionMode === 0 ? DEFAULT_SOCKET_PERMISSION_MODE : socket.permissionMode,
    ...(socket.owner === undefined || socket.owner === '' ? {} : { owner: socket.owner }),
    ...(socket.group === undefined || socket.group === '' ? {} : { group: socket.group }),
  };
}
