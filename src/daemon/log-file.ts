import { closeSync, fstatSync, openSync, renameSync, statSync, writeSync } from 'node:fs';

/** Default cap of daemon.log; the previous generation is kept as daemon.log.1. */
export const DEFAULT_LOG_FILE_LIMIT = 8 * 1024 * 1024;

/**
 * A size-capped append-only log file (a logger sink). Writes are synchronous: log lines are
 * small, and a crash must not lose the lines that explain it. When the file would pass `limit`
 * bytes it is renamed to `<file>.1` (replacing an older one) and a new file is started.
 * Logging never throws: a failed write is dropped.
 */
export class LogFile {
  private fd: number | undefined;
  private size: number;

  constructor(private readonly file: string, private readonly limit = DEFAULT_LOG_FILE_LIMIT) {
    this.fd = openSync(file, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }

  write(text: string): boolean {
    if (this.fd === undefined) return false;
    const bytes = Buffer.from(text, 'utf8');
    try {
      if (this.size > 0 && this.size + bytes.length > this.limit) this.rotate();
      if (this.fd === undefined) return false;
      writeSync(this.fd, bytes);
      this.size += bytes.length;
    } catch {
      return false;
    }
    return true;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  private rotate(): void {
    this.close();
    renameSync(this.file, `${this.file}.1`);
    this.fd = openSync(this.file, 'a', 0o600);
    this.size = 0;
  }
}

/**
 * True when this process's stderr goes nowhere (closed, or /dev/null as for a daemon started in
 * the background with stdio ignored): then the daemon logs to its log file instead.
 */
export function stderrIsDiscarded(): boolean {
  try {
    const stderr = fstatSync(2);
    const devNull = statSync('/dev/null');
    return stderr.isCharacterDevice() && stderr.rdev === devNull.rdev;
  } catch {
    return true;
  }
}
