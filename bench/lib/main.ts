/**
 * Entry-point plumbing shared by the benches: option parsing (node:util), SIGINT/SIGTERM as an
 * AbortSignal, and a cleanup stack that undoes every started resource in reverse order.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { progress } from './report.js';

/** True when `moduleUrl` is the script node was started with (not an import). */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && path.resolve(script) === fileURLToPath(moduleUrl);
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Parses argv strictly; `--help` prints `usage` and exits 0. */
export function parseOptions(argv: readonly string[], options: NonNullable<ParseArgsConfig['options']>, usage: string): Values {
  const { values } = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals: false });
  if (values['help'] === true) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return values;
}

/** A positive integer option (or the default). */
export function integerOption(values: Values, name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} wants a non-negative integer, not ${String(raw)}`);
  return value;
}

export function stringOption(values: Values, name: string, fallback: string): string {
  const raw = values[name];
  return typeof raw === 'string' ? raw : fallback;
}

/** Resources to undo, last first; every step runs even if an earlier one fails. */
export class Cleanup {
  private readonly steps: { readonly name: string; readonly run: () => Promise<void> }[] = [];

  defer(name: string, run: () => Promise<void>): void {
    this.steps.push({ name, run });
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (error) {
        progress(`cleanup ${step.name} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

/** Runs a bench with an AbortSignal that SIGINT/SIGTERM trigger; sets the exit code. */
export function runMain(body: (signal: AbortSignal) => Promise<boolean>): void {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    progress(`${signal}: stopping`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  body(controller.signal).then(
    (ok) => { process.exitCode = ok ? 0 : 1; },
    (error: unknown) => {
      if (error instanceof Error && 'code' in error && typeof error.code === 'string' && error.code.startsWith('ERR_PARSE_ARGS')) {
        process.stderr.write(`${error.message} (see --help)\n`);
        process.exitCode = 2;
        return;
      }
      process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = controller.signal.aborted ? 130 : 1;
    },
  ).finally(() => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
}
