import { errorMessage, MutagenError } from '../../base/errors.js';

/** A stream the CLI prints to (process.stdout/stderr, or a capture in tests). */
export interface Terminal {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

const STATUS_WIDTH = 80;

/** Neutralises text that came from a filesystem or a remote: ESC → `^[`, CR → `\r` (cli spec §1). */
export function neutralize(text: string): string {
  return text.replaceAll('\u001b', '^[').replaceAll('\r', '\\r');
}

/** ANSI colours, only when the stream is a TTY and NO_COLOR is unset or empty. */
export interface Palette {
  red(text: string): string;
  yellow(text: string): string;
}

function palette(enabled: boolean): Palette {
  return enabled
    ? { red: (t) => `\u001b[31m${t}\u001b[0m`, yellow: (t) => `\u001b[33m${t}\u001b[0m` }
    : { red: (t) => t, yellow: (t) => t };
}

/**
 * Everything the CLI writes goes through here. Status lines are transient: on a TTY they
 * overwrite themselves (carriage return, padded to 80 columns) and are cleared before any other
 * output and when the command ends; elsewhere stdout status lines are dropped (stdout keeps only
 * results) and stderr ones are printed as plain lines.
 */
export class Output {
  readonly colors: Palette;
  private stdoutStatus = false;
  private stderrStatus = false;

  constructor(private readonly stdout: Terminal, private readonly stderr: Terminal, env: Readonly<Record<string, string | undefined>>) {
    const noColor = env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '';
    this.colors = palette(stdout.isTTY === true && !noColor);
  }

  get stdoutIsTerminal(): boolean {
    return this.stdout.isTTY === true;
  }

  /** Writes text to stdout as is (no newline added). */
  print(text: string): void {
    this.clearStatus();
    this.stdout.write(text);
  }

  line(text = ''): void {
    this.print(`${text}\n`);
  }

  /** A `Warning: …` line on stderr. */
  warn(message: string): void {
    this.clearStatus();
    this.stderr.write(`Warning: ${message}\n`);
  }

  /** A plain line on stderr (help and usage go here when they are part of an error). */
  errorLine(text: string): void {
    this.clearStatus();
    this.stderr.write(`${text}\n`);
  }

  /** A transient stdout status line (progress from the daemon). Dropped when stdout is not a TTY. */
  status(message: string): void {
    if (this.stdout.isTTY !== true) return;
    this.clearStderrStatus();
    this.stdout.write(`\r${neutralize(message).padEnd(STATUS_WIDTH)}`);
    this.stdoutStatus = true;
  }

  /** A transient stderr status line (daemon autostart); a plain line when stderr is not a TTY. */
  stderrStatusLine(message: string): void {
    this.clearStdoutStatus();
    if (this.stderr.isTTY !== true) {
      this.stderr.write(`${message}\n`);
      return;
    }
    this.stderr.write(`\r${message.padEnd(STATUS_WIDTH)}`);
    this.stderrStatus = true;
  }

  /** Ends a shown stdout status line with a newline so it stays visible (monitor on exit). */
  keepStatus(): void {
    if (!this.stdoutStatus) return;
    this.stdout.write('\n');
    this.stdoutStatus = false;
  }

  clearStatus(): void {
    this.clearStdoutStatus();
    this.clearStderrStatus();
  }

  /**
   * Prints `Error: <message chain>`, the hint, and for bugs the stack. The chain is one line;
   * only aggregated errors (every problem of a configuration file) continue on further lines.
   */
  error(error: unknown, options: { readonly stack: boolean }): void {
    this.clearStatus();
    const message = error instanceof Error ? error.message : errorMessage(error);
    this.stderr.write(`Error: ${neutralize(message)}\n`);
    if (error instanceof MutagenError && error.hint !== undefined) this.stderr.write(`Hint: ${error.hint}\n`);
    if (options.stack) {
      const stack = error instanceof Error && error.stack !== undefined ? error.stack : String(error);
      this.stderr.write(`${stack}\nThis is a bug in mutagen-ts; please report it with the lines above.\n`);
    }
  }

  private clearStdoutStatus(): void {
    if (!this.stdoutStatus) return;
    this.stdout.write(`\r${' '.repeat(STATUS_WIDTH)}\r`);
    this.stdoutStatus = false;
  }

  private clearStderrStatus(): void {
    if (!this.stderrStatus) return;
    this.stderr.write(`\r${' '.repeat(STATUS_WIDTH)}\r`);
    this.stderrStatus = false;
  }
}
