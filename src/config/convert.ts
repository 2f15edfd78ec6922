import type { ForwardConfiguration, SyncConfiguration } from '../model/configuration.js';
import { parseByteSize, parseOctalMode } from '../model/values.js';
import type { ForwardConfigurationFile, SyncConfigurationFile } from './schema.js';

// File values (already validated by schema.ts) -> stored configurations. Zero values (0, "",
// an empty list) mean "unset", as in upstream's YAML decoding; unset keys are left out.

function option<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  if (value === undefined) return {};
  const out: { [P in K]?: V } = {};
  out[key] = value;
  return out;
}

function nonZero(value: number | undefined): number | undefined {
  return value === undefined || value === 0 ? undefined : value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function mode(text: string | undefined): number | undefined {
  return text === undefined ? undefined : nonZero(parseOctalMode(text));
}

function size(text: string | undefined): number | undefined {
  return text === undefined ? undefined : nonZero(parseByteSize(text));
}

/** A validated sync configuration block (session or endpoint level) -> `SyncConfiguration`. */
export function toSyncConfiguration(file: SyncConfigurationFile): SyncConfiguration {
  const paths = file.ignore?.paths;
  const vcs = file.ignore?.vcs;
  return {
    ...option('mode', file.mode),
    ...option('hash', file.hash),
    ...option('maxEntryCount', nonZero(file.maxEntryCount)),
    ...option('maxStagingFileSize', size(file.maxStagingFileSize)),
    ...option('probeMode', file.probeMode),
    ...option('scanMode', file.scanMode),
    ...option('stageMode', file.stageMode),
    ignore: {
      ...option('syntax', file.ignore?.syntax),
      ...option('paths', paths === undefined || paths.length === 0 ? undefined : [...paths]),
      ...option('vcs', vcs === undefined ? undefined : vcs === 'true'),
    },
    symlink: { ...option('mode', file.symlink?.mode) },
    watch: {
      ...option('mode', file.watch?.mode),
      ...option('pollingInterval', nonZero(file.watch?.pollingInterval)),
    },
    permissions: {
      ...option('mode', file.permissions?.mode),
      ...option('defaultFileMode', mode(file.permissions?.defaultFileMode)),
      ...option('defaultDirectoryMode', mode(file.permissions?.defaultDirectoryMode)),
      ...option('defaultOwner', nonEmpty(file.permissions?.defaultOwner)),
      ...option('defaultGroup', nonEmpty(file.permissions?.defaultGroup)),
    },
    compression: { ...option('algorithm', file.compression?.algorithm) },
  };
}

/** A validated forward configuration block -> `ForwardConfiguration`. */
export function toForwardConfiguration(file: ForwardConfigurationFile): ForwardConfiguration {
  const socket = file.socket;
  return {
    socket: {
      ...option('overwriteMode', socket?.overwriteMode),
      ...option('owner', nonEmpty(socket?.owner)),
      ...option('group', nonEmpty(socket?.group)),
      ...option('permissionMode', mode(socket?.permissionMode)),
    },
  };
}
