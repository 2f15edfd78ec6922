import { createRequire } from 'node:module';
import * as z from 'zod';
import type { ErrorCode } from '../base/errors.js';
import { forwardSpecSchema, selectionSchema, syncSpecSchema } from '../model/session.js';
import { forwardSessionStateCodec, syncSessionStateCodec } from './state-codec.js';

/**
 * The daemon's API (ARCHITECTURE §5): JSON-RPC 2.0 over the Unix socket, one message per frame
 * (see framing.ts). Both ends validate with the schemas below: the daemon parses params, the
 * client encodes params and parses results. Notifications: `$/cancel` {id} (client → daemon)
 * aborts that call; `$/progress` {id, event} (daemon → client) carries status lines of a call.
 * The daemon may send the request `prompt` {requestId, kind, message} → {answer} to the client
 * whose call `requestId` needs an answer from the user.
 */

declare const __MUTAGEN_VERSION__: string | undefined;

function packageVersion(): string {
  const manifest: unknown = createRequire(import.meta.url)('../../package.json');
  return z.object({ version: z.string() }).parse(manifest).version;
}

/** The program version: injected by the bundler (scripts/build.ts), read from package.json otherwise. */
export const VERSION: string = typeof __MUTAGEN_VERSION__ === 'string' ? __MUTAGEN_VERSION__ : packageVersion();

const empty = z.strictObject({});
const nothing = z.null();
const affected = z.strictObject({ affected: z.array(z.string()) });
const bySelection = z.strictObject({ selection: selectionSchema });
const sinceIndex = z.number().int().nonnegative().optional();

/** Every method: its params and result schemas. */
export const DAEMON_METHODS = {
  'daemon.version': { params: empty, result: z.strictObject({ version: z.string(), pid: z.number().int() }) },
  'daemon.terminate': { params: empty, result: nothing },
  'sync.create': { params: z.strictObject({ spec: syncSpecSchema, paused: z.boolean() }), result: z.strictObject({ id: z.string() }) },
  'sync.list': {
    params: z.strictObject({ selection: selectionSchema, sinceIndex }),
    result: z.strictObject({ stateIndex: z.number().int().nonnegative(), sessions: z.array(syncSessionStateCodec) }),
  },
  'sync.update': { params: z.strictObject({ id: z.string(), spec: syncSpecSchema }), result: nothing },
  'sync.flush': { params: z.strictObject({ selection: selectionSchema, skipWait: z.boolean() }), result: affected },
  'sync.pause': { params: bySelection, result: affected },
  'sync.resume': { params: bySelection, result: affected },
  'sync.reset': { params: bySelection, result: affected },
  'sync.terminate': { params: bySelection, result: affected },
  'forward.create': { params: z.strictObject({ spec: forwardSpecSchema, paused: z.boolean() }), result: z.strictObject({ id: z.string() }) },
  'forward.list': {
    params: z.strictObject({ selection: selectionSchema, sinceIndex }),
    result: z.strictObject({ stateIndex: z.number().int().nonnegative(), sessions: z.array(forwardSessionStateCodec) }),
  },
  'forward.update': { params: z.strictObject({ id: z.string(), spec: forwardSpecSchema }), result: nothing },
  'forward.pause': { params: bySelection, result: affected },
  'forward.resume': { params: bySelection, result: affected },
  'forward.terminate': { params: bySelection, result: affected },
} as const;

export type DaemonMethod = keyof typeof DAEMON_METHODS;
export type DaemonParams<M extends DaemonMethod> = z.output<(typeof DAEMON_METHODS)[M]['params']>;
export type DaemonResult<M extends DaemonMethod> = z.output<(typeof DAEMON_METHODS)[M]['result']>;

export function isDaemonMethod(name: string): name is DaemonMethod {
  return Object.hasOwn(DAEMON_METHODS, name);
}

/** Methods whose handlers may ask the user something (cli spec §1: prompts). */
export const PROMPTING_METHODS: ReadonlySet<DaemonMethod> = new Set<DaemonMethod>([
  'sync.create', 'sync.resume', 'sync.reset', 'forward.create', 'forward.resume',
]);

// JSON-RPC 2.0 envelopes.

export const JSONRPC_PARSE_ERROR = -32700;
export const JSONRPC_INVALID_REQUEST = -32600;
export const JSONRPC_METHOD_NOT_FOUND = -32601;
export const JSONRPC_INVALID_PARAMS = -32602;
export const JSONRPC_INTERNAL_ERROR = -32603;
/** Application errors: the handler failed; `data` carries the MutagenError. */
export const JSONRPC_SERVER_ERROR = -32000;

const idSchema = z.union([z.number().int(), z.string()]);
export type RequestId = z.infer<typeof idSchema>;

const errorCodeSchema = z.custom<ErrorCode>((value) => typeof value === 'string' && /^MUTAGEN_[A-Z_]+$/.test(value));

/** What a failed call carries: the MutagenError's code, full message chain and hint. */
export const errorDataSchema = z.object({ code: errorCodeSchema, message: z.string(), hint: z.string().optional() });
export type ErrorData = z.infer<typeof errorDataSchema>;

export const requestSchema = z.object({ jsonrpc: z.literal('2.0'), id: idSchema, method: z.string(), params: z.unknown().optional() });
export const notificationSchema = z.object({ jsonrpc: z.literal('2.0'), method: z.string(), params: z.unknown().optional() });
export const successSchema = z.object({ jsonrpc: z.literal('2.0'), id: idSchema, result: z.unknown() });
export const failureSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: idSchema.nullable(),
  error: z.object({ code: z.number().int(), message: z.string(), data: errorDataSchema.optional() }),
});

export const cancelParamsSchema = z.object({ id: idSchema });
export const progressParamsSchema = z.object({ id: idSchema, event: z.object({ kind: z.literal('status'), message: z.string() }) });
export const promptParamsSchema = z.object({ requestId: idSchema, kind: z.enum(['echo', 'secret']), message: z.string() });
export const promptResultSchema = z.object({ answer: z.string() });
export type PromptParams = z.infer<typeof promptParamsSchema>;
