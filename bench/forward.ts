/**
 * Forwarding beside `ssh -L` (issue 7 §3), in one run, both through the same loopback sshd
 * (test/setup/sshd.ts) to the same target server on 127.0.0.1 (bench/target-server.ts):
 *   ssh -L     `ssh -N -L 127.0.0.1:<s>:127.0.0.1:<t> mutagen-test` (OpenSSH client)
 *   mutagen    `mutagen forward create tcp:127.0.0.1:<m> mutagen-test:tcp:127.0.0.1:<t>`
 *              (the agent on the sshd host — this machine — dials the target)
 * Figures: one-way throughput each way (client → target, the target, then target →
 * client; pattern bytes checked at the receiving end; interleaved repetitions),
 * sequential small round trips on one connection (median, p99, added latency), and RSS of the
 * daemon (and of the remote agent, and of the ssh client for reference) idle, with N idle
 * connections open through the forward, and after they closed. Prints a table; appends JSON lines.
 *
 *   npx tsx bench/forward.ts [--mib 1024] [--reps 3] [--rounds 1000] [--connections 1000] [--out FILE]
 */
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { Cleanup, integerOption, isMain, parseOptions, runMain, stringOption } from './lib/main.js';
import { CLI_PATH, cleanEnvironment, MutagenCli, REPOSITORY_ROOT } from './lib/mutagen.js';
import { download, openIdle, roundTrips, startTarget, throughput, waitForListener } from './lib/net-client.js';
import { makePattern } from './lib/pattern.js';
import { pidsMatching, sampleRssMiB, start, stopPid } from './lib/proc.js';
import { JsonLines, median, progress, quantile, round } from './lib/report.js';
import { startSshd, type BenchSshd } from './lib/sshd-env.js';
import { printForwardTable, summarizeForward, type ForwardFigures, type IdleFigures, type Tool } from './lib/forward-report.js';

export interface ForwardBenchOptions {
  readonly mib: number;
  readonly reps: number;
  readonly rounds: number;
  readonly warmup: number;
  readonly size: number;
  readonly connections: number;
  readonly parallel: number;
  readonly out: string;
  readonly cli: string;
}

export const FORWARD_USAGE = `usage: npx tsx bench/forward.ts [options]
  --mib N            one-way stream size in MiB (1024; smoke: 64)
  --reps N           throughput repetitions per tool and direction, interleaved (3)
  --rounds N         sequential round trips on one connection (1000)
  --warmup N         uncounted round trips first (50)
  --size N           bytes per round-trip message (64)
  --connections N    idle connections for the memory figure (1000)
  --parallel N       connections opened at a time (50)
  --out FILE         JSON lines appended here (bench/results-forward.jsonl)
  --cli FILE         the mutagen CLI to measure (${CLI_PATH})`;

const OPTIONS = {
  mib: { type: 'string' }, reps: { type: 'string' }, rounds: { type: 'string' }, warmup: { type: 'string' }, size: { type: 'string' },
  connections: { type: 'string' }, parallel: { type: 'string' }, out: { type: 'string' }, cli: { type: 'string' },
} as const;

export function forwardOptions(argv: readonly string[]): ForwardBenchOptions {
  const values = parseOptions(argv, OPTIONS, FORWARD_USAGE);
  return {
    mib: Math.max(1, integerOption(values, 'mib', 1024)), reps: Math.max(1, integerOption(values, 'reps', 3)),
    rounds: Math.max(1, integerOption(values, 'rounds', 1000)), warmup: integerOption(values, 'warmup', 50),
    size: Math.max(1, integerOption(values, 'size', 64)), connections: integerOption(values, 'connections', 1000),
    parallel: Math.max(1, integerOption(values, 'parallel', 50)),
    out: path.resolve(stringOption(values, 'out', path.join(REPOSITORY_ROOT, 'bench/results-forward.jsonl'))),
    cli: path.resolve(stringOption(values, 'cli', CLI_PATH)),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address !== null && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** True when the CLI has `forward create` (forwarding is being written in parallel). */
export async function forwardingAvailable(cli: string, signal: AbortSignal): Promise<boolean> {
  const probe = await MutagenCli.create({}, cli);
  try {
    return (await probe.run(['forward', 'create', '--help'], signal)).code === 0;
  } finally {
    await probe.close();
  }
}

interface Setup { readonly tools: readonly Tool[]; readonly cli: MutagenCli; readonly daemonPid: number; readonly sshPid: number; readonly sshd: BenchSshd }

async function startTools(options: ForwardBenchOptions, cleanup: Cleanup, records: JsonLines, signal: AbortSignal): Promise<Setup> {
  const target = await startTarget(signal);
  cleanup.defer('target server', () => target.close());
  const sshd = await startSshd();
  cleanup.defer('sshd', () => sshd.close());
  const sshPort = await freePort();
  const ssh = start([
    'ssh', '-F', sshd.home.config, '-N', '-o', 'ExitOnForwardFailure=yes', '-o', 'ControlMaster=no', '-o', 'ControlPath=none',
    '-L', `127.0.0.1:${sshPort}:127.0.0.1:${target.port}`, sshd.host,
  ], { env: cleanEnvironment({ HOME: sshd.home.home }) });
  cleanup.defer('ssh -L', () => stopPid(ssh.pid));
  await waitForListener(sshPort, 30_000, signal);
  const cli = await MutagenCli.create({ HOME: sshd.home.home }, options.cli);
  cleanup.defer('mutagen daemon', () => cli.close());
  const daemon = await cli.startDaemon(signal);
  const mutagenPort = await freePort();
  const create = await cli.ok(['forward', 'create', `tcp:127.0.0.1:${mutagenPort}`, `${sshd.host}:tcp:127.0.0.1:${target.port}`, '--name', 'bench-forward'], signal);
  cleanup.defer('forward session', async () => { await cli.run(['forward', 'terminate', 'bench-forward'], AbortSignal.timeout(30_000)); });
  await waitForListener(mutagenPort, 30_000, signal);
  await records.write({ type: 'measure', bench: 'forward', scenario: 'create', tool: 'mutagen', seconds: round(create.seconds), daemon_start_s: round(daemon.seconds) });
  progress(`target :${target.port}; ssh -L :${sshPort} (pid ${ssh.pid}); mutagen forward :${mutagenPort} (daemon pid ${daemon.pid}); sshd :${sshd.port}`);
  return { tools: [{ name: 'ssh -L', port: sshPort }, { name: 'mutagen', port: mutagenPort }], cli, daemonPid: daemon.pid, sshPid: ssh.pid, sshd };
}

type Direction = 'upload' | 'download';

/** One-way streams through each tool, interleaved: upload (client → target) or download (target → client). */
async function measureThroughput(options: ForwardBenchOptions, tools: readonly Tool[], direction: Direction, records: JsonLines, signal: AbortSignal): Promise<Map<string, number[]>> {
  const pattern = makePattern();
  const bytes = options.mib * 2 ** 20;
  const results = new Map<string, number[]>(tools.map((tool) => [tool.name, []]));
  const scenario = direction === 'upload' ? 'throughput' : 'download';
  for (let rep = 1; rep <= options.reps; rep++) {
    for (const tool of tools) {
      signal.throwIfAborted();
      const { seconds, intact } = await (direction === 'upload' ? throughput : download)(tool.port, bytes, pattern, 600_000);
      const mbps = bytes / 1e6 / seconds;
      progress(`${scenario} r${rep} ${tool.name}: ${mbps.toFixed(1)} MB/s${intact ? '' : ' (CORRUPT)'}`);
      await records.write({ type: 'measure', bench: 'forward', scenario, tool: tool.name, rep, bytes, seconds: round(seconds), mb_per_s: round(mbps, 1), intact });
      if (!intact) throw new Error(`${tool.name}: the ${direction} stream arrived corrupt or short`);
      results.get(tool.name)?.push(mbps);
    }
  }
  return results;
}

async function measureLatency(options: ForwardBenchOptions, tools: readonly Tool[], records: JsonLines): Promise<Map<string, number[]>> {
  const results = new Map<string, number[]>();
  for (const tool of tools) {
    const ms = await roundTrips(tool.port, options.rounds, options.warmup, options.size);
    results.set(tool.name, ms);
    progress(`round trips ${tool.name}: median ${median(ms).toFixed(3)} ms, p99 ${quantile(ms, 0.99).toFixed(3)} ms`);
    await records.write({
      type: 'measure', bench: 'forward', scenario: 'round-trip', tool: tool.name, rounds: ms.length, size: options.size,
      median_ms: round(median(ms), 4), p99_ms: round(quantile(ms, 0.99), 4), min_ms: round(Math.min(...ms), 4), max_ms: round(Math.max(...ms), 4),
    });
  }
  return results;
}

/** RSS (MiB) of each pid source before, with `connections` idle connections through `port`, and after they closed. */
async function measureIdle(options: ForwardBenchOptions, port: number, sources: Readonly<Record<string, () => Promise<number[]>>>): Promise<IdleFigures> {
  const sample = async (): Promise<Record<string, number | undefined>> => {
    const result: Record<string, number | undefined> = {};
    for (const [name, pids] of Object.entries(sources)) result[name] = await sampleRssMiB(await pids());
    return result;
  };
  const idle = await sample();
  const startTime = process.hrtime.bigint();
  const connections = await openIdle(port, options.connections, options.parallel);
  const openSeconds = Number(process.hrtime.bigint() - startTime) / 1e9;
  let open: Record<string, number | undefined>;
  try {
    open = await sample();
  } finally {
    connections.close();
  }
  const after = await sample();
  return { idle, open, after, openSeconds };
}

const forwardList = z.array(z.object({
  status: z.string(), openConnections: z.number(), totalConnections: z.number(), droppedConnections: z.number().optional(),
  totalOutboundData: z.number(), totalInboundData: z.number(), lastError: z.string().optional(),
}));

/** The session's counters from `forward list --json` (a cross-check of what the bench sent). */
async function forwardCounters(cli: MutagenCli, signal: AbortSignal): Promise<Record<string, unknown>> {
  const listed = await cli.run(['forward', 'list', '--json', 'bench-forward'], signal);
  if (listed.code !== 0) return { error: listed.stderr.trim().slice(-500) };
  let json: unknown;
  try {
    json = JSON.parse(listed.stdout);
  } catch {
    return { error: `forward list --json printed no JSON: ${listed.stdout.slice(0, 200)}` };
  }
  const parsed = forwardList.safeParse(json);
  return parsed.success ? { ...parsed.data[0] } : { error: parsed.error.message.slice(0, 500) };
}

export async function runForwardBench(options: ForwardBenchOptions, signal: AbortSignal): Promise<boolean> {
  const cleanup = new Cleanup();
  try {
    const records = new JsonLines(options.out, 'forward');
    await records.header({ bench: 'forward', ...options });
    const setup = await startTools(options, cleanup, records, signal);
    const [sshTool, mutagenTool] = setup.tools;
    if (sshTool === undefined || mutagenTool === undefined) throw new Error('tools missing');
    const agentPids = (): Promise<number[]> => pidsMatching(setup.sshd.remoteDataDirectory);
    const fresh = { daemon: await sampleRssMiB([setup.daemonPid]), agent: await sampleRssMiB(await agentPids()), ssh: await sampleRssMiB([setup.sshPid]) };
    const mbps = await measureThroughput(options, setup.tools, 'upload', records, signal);
    const downloadMbps = await measureThroughput(options, setup.tools, 'download', records, signal);
    const latency = await measureLatency(options, setup.tools, records);
    progress(`opening ${options.connections} idle connections through each forward`);
    const mutagenIdle = await measureIdle(options, mutagenTool.port, { daemon: () => Promise.resolve([setup.daemonPid]), agent: agentPids });
    const sshIdle = await measureIdle(options, sshTool.port, { ssh: () => Promise.resolve([setup.sshPid]) });
    const counters = await forwardCounters(setup.cli, signal);
    await records.write({ type: 'counters', bench: 'forward', tool: 'mutagen', ...counters });
    progress(`forward list --json: ${JSON.stringify(counters)}`);
    const figures: ForwardFigures = { options, mbps, downloadMbps, latency, fresh, mutagenIdle, sshIdle };
    const summary = summarizeForward(figures);
    for (const record of summary) await records.write(record);
    printForwardTable(figures, summary);
    return true;
  } finally {
    await cleanup.run();
  }
}

if (isMain(import.meta.url)) runMain((signal) => runForwardBench(forwardOptions(process.argv.slice(2)), signal));
