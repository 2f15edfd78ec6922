/**
 * Figures for the project benches: order statistics, a plain-text table and JSON lines.
 * Benches print and record; they assert nothing about speed (ARCHITECTURE.md §3.1).
 */
import { appendFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Median of the values (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Linear-interpolated quantile q in [0, 1] of the values; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const lowValue = sorted[low] ?? Number.NaN;
  const highValue = sorted[high] ?? Number.NaN;
  return lowValue + (highValue - lowValue) * (position - low);
}

/** Rounds to `digits` decimals (JSON records keep numbers, not strings). */
export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Seconds elapsed since `start` (a process.hrtime.bigint() reading). */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export type Cell = string | number | boolean | undefined;

/** Renders rows as an aligned text table (numbers right-aligned). */
export function table(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = (cell: Cell): string => (cell === undefined ? '-' : typeof cell === 'number' ? formatNumber(cell) : String(cell));
  const cells = rows.map((row) => header.map((_, index) => text(row[index])));
  const widths = header.map((title, index) => Math.max(title.length, ...cells.map((row) => (row[index] ?? '').length)));
  const numeric = header.map((_, index) => rows.every((row) => typeof row[index] === 'number' || row[index] === undefined));
  const line = (values: readonly string[]): string =>
    values.map((value, index) => (numeric[index] === true ? value.padStart(widths[index] ?? 0) : value.padEnd(widths[index] ?? 0))).join('  ').trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)].join('\n');
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value) || Number.isInteger(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/** Appends one JSON object per line to a results file; every record carries the run id. */
export class JsonLines {
  readonly runId: string;

  constructor(readonly file: string, bench: string) {
    this.runId = `${bench}-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`;
  }

  async write(record: Readonly<Record<string, unknown>>): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify({ run: this.runId, ...record })}\n`);
  }

  /** A `header` record with the machine facts figures depend on. */
  async header(config: Readonly<Record<string, unknown>>): Promise<void> {
    await this.write({
      type: 'header', time: new Date().toISOString(), node: process.version, platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryMiB: Math.round(os.totalmem() / 2 ** 20), loadavg: os.loadavg(), config,
    });
  }
}

/** Progress lines go to stderr, so stdout carries only the tables. */
export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
