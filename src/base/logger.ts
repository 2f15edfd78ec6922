import type { Writable } from 'node:stream';

export type LogLevel = 'disabled' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
const ORDER: Record<LogLevel, number> = { disabled: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 };
export const LOG_LEVELS: readonly LogLevel[] = ['disabled', 'error', 'warn', 'info', 'debug', 'trace'];

export function parseLogLevel(text: string | undefined, fallback: LogLevel = 'info'): LogLevel {
  if (text === undefined || text === '') return fallback;
  if ((LOG_LEVELS as readonly string[]).includes(text)) return text as LogLevel;
  throw new Error(`unknown log level: ${text}`);
}

export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

/** Scoped, levelled key=value logger. Never log file contents or secrets. */
export class Logger {
  constructor(
    private readonly sink: Pick<Writable, 'write'> | undefined,
    readonly level: LogLevel,
    private readonly scope = '',
  ) {}

  child(scope: string): Logger {
    return new Logger(this.sink, this.level, this.scope === '' ? scope : `${this.scope}/${scope}`);
  }

  enabled(level: Exclude<LogLevel, 'disabled'>): boolean {
    return this.sink !== undefined && ORDER[level] <= ORDER[this.level];
  }

  error(message: string, fields?: LogFields): void { this.log('error', message, fields); }
  warn(message: string, fields?: LogFields): void { this.log('warn', message, fields); }
  info(message: string, fields?: LogFields): void { this.log('info', message, fields); }
  debug(message: string, fields?: LogFields): void { this.log('debug', message, fields); }
  trace(message: string, fields?: LogFields): void { this.log('trace', message, fields); }

  private log(level: Exclude<LogLevel, 'disabled'>, message: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    let line = `${new Date().toISOString()} ${level.toUpperCase()} ${this.scope === '' ? '' : `[${this.scope}] `}${message}`;
    if (fields !== undefined) {
      for (const [key, value] of Object.entries(fields)) {
        if (value !== undefined) line += ` ${key}=${JSON.stringify(value)}`;
      }
    }
    this.sink?.write(`${line}\n`);
  }
}

export const silentLogger = new Logger(undefined, 'disabled');
