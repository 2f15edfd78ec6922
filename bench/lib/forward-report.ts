/** Summary records and tables of bench/forward.ts. */
import { median, quantile, round, table, type Cell } from './report.js';

export interface Tool {
  readonly name: 'ssh -L' | 'mutagen';
  /** The local listener of this forward. */
  readonly port: number;
}

export interface IdleFigures {
  /** RSS (MiB) per process group: before, with the idle connections open, after they closed. */
  readonly idle: Readonly<Record<string, number | undefined>>;
  readonly open: Readonly<Record<string, number | undefined>>;
  readonly after: Readonly<Record<string, number | undefined>>;
  readonly openSeconds: number;
}

export interface ForwardFigures {
  readonly options: { readonly mib: number; readonly reps: number; readonly rounds: number; readonly size: number; readonly connections: number; readonly out: string };
  /** Client → target (the issue's figure). */
  readonly mbps: ReadonlyMap<string, readonly number[]>;
  /** Target → client. */
  readonly downloadMbps: ReadonlyMap<string, readonly number[]>;
  readonly latency: ReadonlyMap<string, readonly number[]>;
  /** RSS (MiB) right after the forwards were created, before any traffic. */
  readonly fresh: Readonly<Record<string, number | undefined>>;
  readonly mutagenIdle: IdleFigures;
  readonly sshIdle: IdleFigures;
}

type Summary = Record<string, unknown> & { readonly scenario: string; readonly tool: string };

const mib = (value: number | undefined): number | undefined => (value === undefined ? undefined : round(value, 1));

export function summarizeForward(figures: ForwardFigures): Summary[] {
  const base = { type: 'summary', bench: 'forward' };
  const sshLatency = figures.latency.get('ssh -L') ?? [];
  const records: Summary[] = [];
  const streams = [['throughput', figures.mbps, '>= 0.8x ssh -L'], ['download', figures.downloadMbps, '(other direction)']] as const;
  for (const [scenario, mbps, target] of streams) {
    const sshMbps = median(mbps.get('ssh -L') ?? []);
    for (const [tool, values] of mbps) {
      records.push({
        ...base, scenario, tool, unit: 'MB/s', bytes: figures.options.mib * 2 ** 20, n: values.length,
        median: round(median(values), 1), min: round(Math.min(...values), 1), max: round(Math.max(...values), 1),
        ...(tool === 'mutagen' ? { ratio_to_ssh: round(median(values) / sshMbps, 2), target } : {}),
      });
    }
  }
  for (const [tool, values] of figures.latency) {
    records.push({
      ...base, scenario: 'round-trip', tool, unit: 'ms', size: figures.options.size, n: values.length,
      median: round(median(values), 4), p99: round(quantile(values, 0.99), 4), min: round(Math.min(...values), 4), max: round(Math.max(...values), 4),
      ...(tool === 'mutagen'
        ? { added_median_ms: round(median(values) - median(sshLatency), 4), added_p99_ms: round(quantile(values, 0.99) - quantile(sshLatency, 0.99), 4), target: '<= +1 ms median over ssh -L' }
        : {}),
    });
  }
  const memory = (tool: string, process: string, idle: IdleFigures): Summary => {
    const before = idle.idle[process];
    const open = idle.open[process];
    return {
      ...base, scenario: 'memory', tool, process, unit: 'MiB', connections: figures.options.connections,
      fresh: mib(figures.fresh[process]), idle: mib(before), with_connections: mib(open), after_close: mib(idle.after[process]),
      delta: before === undefined || open === undefined ? undefined : round(open - before, 1),
      per_connection_kib: before === undefined || open === undefined || figures.options.connections === 0 ? undefined : round(((open - before) * 1024) / figures.options.connections, 1),
      open_seconds: round(idle.openSeconds),
      ...(process === 'daemon' ? { target: 'flat with idle connections' } : {}),
    };
  };
  records.push(memory('mutagen', 'daemon', figures.mutagenIdle), memory('mutagen', 'agent', figures.mutagenIdle), memory('ssh -L', 'ssh', figures.sshIdle));
  return records;
}

export function printForwardTable(figures: ForwardFigures, summary: readonly Summary[]): void {
  const number = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  const speed: Cell[][] = summary.filter((s) => s.scenario !== 'memory').map((s) => [
    s.scenario, s.tool, text(s['unit']), number(s['n']), number(s['median']), number(s['min']), number(s['max']), number(s['p99']),
    s.scenario === 'round-trip' ? number(s['added_median_ms']) : number(s['ratio_to_ssh']), text(s['target']),
  ]);
  const memoryRows: Cell[][] = summary.filter((s) => s.scenario === 'memory').map((s) => [
    s.tool, text(s['process']), number(s['fresh']), number(s['idle']), number(s['with_connections']), number(s['after_close']), number(s['delta']), number(s['per_connection_kib']), text(s['target']),
  ]);
  const { options } = figures;
  process.stdout.write(`\nForwarding vs ssh -L — ${options.mib} MiB each way x ${options.reps}; ${options.rounds} round trips of ${options.size} B; ${options.connections} idle connections\n`);
  process.stdout.write(`${table(['scenario', 'tool', 'unit', 'n', 'median', 'min', 'max', 'p99', 'x ssh / +ms', 'target'], speed)}\n\n`);
  process.stdout.write(`${table(['tool', 'process', 'fresh MiB', 'idle MiB', `+${options.connections} conns MiB`, 'after close MiB', 'delta MiB', 'KiB/conn', 'target'], memoryRows)}\n`);
  process.stdout.write(`records: ${options.out}\n`);
}
