import * as z from 'zod';
import { errorMessage } from '../base/errors.js';
import {
  COMPRESSION_ALGORITHMS, HASH_ALGORITHMS, IGNORE_SYNTAXES, PERMISSIONS_MODES, PROBE_MODES, SCAN_MODES,
  SOCKET_OVERWRITE_MODES, STAGE_MODES, SYMLINK_MODES, SYNC_MODES, WATCH_MODES,
} from '../model/configuration.js';
import { parseByteSize, parseOctalMode, validateOwnership } from '../model/values.js';

/**
 * Mutagen's project file (`mutagen.yml`) and global file (`~/.mutagen.yml`) as written: every key
 * optional, nothing defaulted (defaults apply in normalize.ts), unknown keys rejected. Values are
 * what `yaml-decode.ts` hands over: the text of scalars for text-read fields (enums, octal modes,
 * byte sizes, URLs), booleans and numbers only for Mutagen's bool and integer fields. Value
 * grammars are checked here, so one `safeParse` reports every static problem.
 * Messages read `what is wrong (what is allowed)`; `errors.ts`-side formatting adds the rest.
 */

function shown(text: string): string {
  return text === '' || text.trim() !== text ? JSON.stringify(text) : text;
}

function enumText<const T extends readonly [string, ...string[]]>(values: T, what: string, description: string) {
  return z
    .enum(values, {
      error: (issue) =>
        issue.code === 'invalid_value' && typeof issue.input === 'string'
          ? `unknown ${what} specification: ${shown(issue.input)} (expected ${values.join(', ')})`
          : undefined,
    })
    .meta({ description });
}

function text(description: string) {
  return z.string().meta({ description });
}

/** An octal permission mode read from the scalar's text: `644`, `0644` and `"0644"` are 0644. */
export const octalModeText = z
  .string()
  .superRefine((value, context) => {
    try {
      parseOctalMode(value);
    } catch (error) {
      context.addIssue({ code: 'custom', message: `${errorMessage(error)} (expected an octal mode such as 0644, at most 0777)` });
    }
  })
  .meta({ description: 'Octal permission mode, e.g. 0644 (at most 0777).' });

/** A go-humanize byte size: `1000000`, `"5MB"`, `"1 GiB"`. */
export const byteSizeText = z
  .string()
  .superRefine((value, context) => {
    try {
      parseByteSize(value);
    } catch (error) {
      context.addIssue({ code: 'custom', message: `${errorMessage(error)} (expected a size such as 1000000, "5MB" or "1 GiB")` });
    }
  })
  .meta({ description: 'Size in bytes or with a unit: 1000000, "5MB", "1 GiB" (0 = default: unlimited).' });

/** Mutagen reads `ignore.vcs` from its text: only `true` and `false`. */
export const vcsText = enumText(['true', 'false'], 'VCS ignore', 'true ignores VCS directories (.git, .svn, …); false propagates them.');

function ownership(what: string, description: string) {
  return z
    .string()
    .superRefine((value, context) => {
      const reason = value === '' ? undefined : validateOwnership(value);
      if (reason !== undefined) {
        context.addIssue({ code: 'custom', message: `invalid ${what} specification: ${reason} (expected a name, id:<number> or sid:<SID>)` });
      }
    })
    .meta({ description });
}

const uint32 = z.number().int().min(0).max(4_294_967_295);
/** Mutagen's uint64; zod's integers stop at 2^53 − 1, far beyond any real entry count. */
const uint64 = z.number().int().min(0);

type Level = 'session' | 'endpoint';

/** At endpoint level the session-wide settings are errors, as upstream's EnsureValid(true) says. */
function sessionOnly<T extends z.ZodType>(schema: T, level: Level, what: string): T {
  if (level === 'session') return schema;
  return schema.superRefine((value, context) => {
    if (Array.isArray(value) && value.length === 0) return;
    context.addIssue({ code: 'custom', message: `${what} cannot be specified on an endpoint-specific basis (set it at session level)` });
  });
}

function permissionsSchema(level: Level) {
  const shape = z.strictObject({
    mode: sessionOnly(enumText(PERMISSIONS_MODES, 'permissions mode', 'portable (default) or manual.'), level, 'permissions mode').optional(),
    defaultFileMode: octalModeText.optional(),
    defaultDirectoryMode: octalModeText.optional(),
    defaultOwner: ownership('default owner', 'Owner of new files: a name, id:<uid> or sid:<SID>.').optional(),
    defaultGroup: ownership('default group', 'Group of new files: a name, id:<gid> or sid:<SID>.').optional(),
  });
  if (level === 'endpoint') return shape;
  // Checked against the permissions mode given in the same block only (upstream's EnsureValid).
  return shape.superRefine((value, context) => {
    if (value.defaultFileMode === undefined || value.mode === 'manual') return;
    let mode = 0;
    try {
      mode = parseOctalMode(value.defaultFileMode);
    } catch {
      return;
    }
    if ((mode & 0o111) === 0) return;
    context.addIssue({
      code: 'custom',
      path: ['defaultFileMode'],
      message: 'executability bits detected in file mode in portable permissions propagation mode (use a mode without execute bits such as 0644, or set permissions.mode: manual in the same block)',
    });
  });
}

function syncConfigurationShape(level: Level) {
  return {
    mode: sessionOnly(enumText(SYNC_MODES, 'synchronization mode', 'Synchronization mode (default two-way-safe).'), level, 'synchronization mode').optional(),
    hash: sessionOnly(enumText(HASH_ALGORITHMS, 'hashing algorithm', 'Content hashing algorithm (default sha1).'), level, 'hashing algorithm').optional(),
    maxEntryCount: uint64.meta({ description: 'Maximum number of entries an endpoint will manage (0 = unlimited).' }).optional(),
    maxStagingFileSize: byteSizeText.optional(),
    probeMode: enumText(PROBE_MODES, 'probe mode', 'Filesystem probing: probe (default) or assume.').optional(),
    scanMode: enumText(SCAN_MODES, 'scan mode', 'Scanning: accelerated (default) or full.').optional(),
    stageMode: enumText(STAGE_MODES, 'staging mode', 'Where files are staged: mutagen (default), neighboring or internal.').optional(),
    ignore: z
      .strictObject({
        syntax: sessionOnly(enumText(IGNORE_SYNTAXES, 'ignore syntax', 'Ignore pattern syntax: mutagen (default) or docker.'), level, 'ignore syntax').optional(),
        paths: sessionOnly(z.array(text('An ignore pattern.')).meta({ description: 'Ignore patterns, appended to those of lower levels.' }), level, 'ignores').optional(),
        vcs: sessionOnly(vcsText, level, 'VCS ignore mode').optional(),
      })
      .optional(),
    symlink: z
      .strictObject({ mode: sessionOnly(enumText(SYMLINK_MODES, 'symbolic link mode', 'Symbolic link handling (default portable).'), level, 'symbolic link mode').optional() })
      .optional(),
    watch: z
      .strictObject({
        mode: enumText(WATCH_MODES, 'watch mode', 'Filesystem watching (default portable).').optional(),
        pollingInterval: uint32.meta({ description: 'Polling interval in seconds (0 = default: 10).' }).optional(),
      })
      .optional(),
    permissions: permissionsSchema(level).optional(),
    compression: z
      .strictObject({ algorithm: enumText(COMPRESSION_ALGORITHMS, 'compression algorithm', 'Transfer compression (default: deflate; none on links that never leave this machine: loopback SSH, Docker over a unix socket).').optional() })
      .optional(),
  };
}

/** Session-level sync settings: the global file's `sync.defaults`. */
export const syncConfigurationFileSchema = z.strictObject(syncConfigurationShape('session'));
/** `configurationAlpha` / `configurationBeta`. */
export const syncEndpointConfigurationFileSchema = z.strictObject(syncConfigurationShape('endpoint'));

/** One entry of `sync:` (also `sync.defaults`). */
export const syncSessionFileSchema = z.strictObject({
  alpha: text('Alpha URL: a local path, [user@]host[:port]:path or docker://[user@]container/path.').optional(),
  beta: text('Beta URL: a local path, [user@]host[:port]:path or docker://[user@]container/path.').optional(),
  flushOnCreate: z.boolean().meta({ description: 'Wait for a first full cycle when the project starts.' }).optional(),
  ...syncConfigurationShape('session'),
  configurationAlpha: syncEndpointConfigurationFileSchema.optional(),
  configurationBeta: syncEndpointConfigurationFileSchema.optional(),
});

const socketSchema = z.strictObject({
  overwriteMode: enumText(SOCKET_OVERWRITE_MODES, 'socket overwrite mode', 'leave (default) or overwrite an existing socket file.').optional(),
  owner: ownership('socket owner', 'Owner of a Unix socket listener: a name, id:<uid> or sid:<SID>.').optional(),
  group: ownership('socket group', 'Group of a Unix socket listener: a name, id:<gid> or sid:<SID>.').optional(),
  permissionMode: octalModeText.optional(),
});

/** The global file's `forward.defaults`, and `configurationSource` / `configurationDestination`. */
export const forwardConfigurationFileSchema = z.strictObject({ socket: socketSchema.optional() });

/** One entry of `forward:` (also `forward.defaults`). */
export const forwardSessionFileSchema = z.strictObject({
  source: text('Listening side: tcp:host:port, unix:path, or either behind [user@]host: or docker://container:.').optional(),
  destination: text('Dialled side: tcp:host:port, unix:path, or either behind [user@]host: or docker://container:.').optional(),
  socket: socketSchema.optional(),
  configurationSource: forwardConfigurationFileSchema.optional(),
  configurationDestination: forwardConfigurationFileSchema.optional(),
});

const hookList = (when: string) => z.array(text('A shell command.')).meta({ description: `Shell commands run ${when}.` }).optional();

/** `mutagen.yml`. Session names are checked in validate.ts (zod skips a record value whose key fails). */
export const projectFileSchema = z
  .strictObject({
    beforeCreate: hookList('before sessions are created (project start)'),
    afterCreate: hookList('after sessions are created'),
    beforePause: hookList('before sessions are paused'),
    afterPause: hookList('after sessions are paused'),
    beforeResume: hookList('before sessions are resumed'),
    afterResume: hookList('after sessions are resumed'),
    beforeTerminate: hookList('before sessions are terminated'),
    afterTerminate: hookList('after sessions are terminated'),
    commands: z.record(z.string(), text('A shell command.')).meta({ description: 'Commands for `mutagen project run <name>`.' }).optional(),
    sync: z
      .record(z.string(), syncSessionFileSchema)
      .meta({ description: 'Synchronization sessions by name; the `defaults` entry applies to all of them.' })
      .optional(),
    forward: z
      .record(z.string(), forwardSessionFileSchema)
      .meta({ description: 'Forwarding sessions by name; the `defaults` entry applies to all of them.' })
      .optional(),
  })
  .meta({ title: 'Mutagen project file (mutagen.yml)' });

/** `~/.mutagen.yml`: only defaults, at session level. */
export const globalFileSchema = z.strictObject({
  sync: z.strictObject({ defaults: syncConfigurationFileSchema.optional() }).optional(),
  forward: z.strictObject({ defaults: forwardConfigurationFileSchema.optional() }).optional(),
});

export type SyncConfigurationFile = z.infer<typeof syncConfigurationFileSchema>;
export type SyncEndpointConfigurationFile = z.infer<typeof syncEndpointConfigurationFileSchema>;
export type SyncSessionFile = z.infer<typeof syncSessionFileSchema>;
export type ForwardConfigurationFile = z.infer<typeof forwardConfigurationFileSchema>;
export type ForwardSessionFile = z.infer<typeof forwardSessionFileSchema>;
export type ProjectFile = z.infer<typeof projectFileSchema>;
export type GlobalFile = z.infer<typeof globalFileSchema>;
