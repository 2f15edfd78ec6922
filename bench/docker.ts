/**
 * Docker transport beside `docker cp` (issue 6 §3), in one run on the referee's generated tree:
 *   initial   `docker cp <tree> ctr:/dst-cp.rN`  vs  `mutagen sync create <tree> docker://ctr/dst-m.rN`
 *             + `mutagen sync flush` (wall time from create to the first flush returning),
 *             interleaved repetitions, each into a fresh destination;
 *   no-op     `mutagen sync flush` with nothing changed (whole CLI call);
 *   small     one small file rewritten locally → its new content visible in the container
 *             (polled inside the container by a long-lived node process, or `--change flush`:
 *             write, `mutagen sync flush`, then check).
 * Every destination is compared with the source by a content manifest (SHA-256 per file), so a
 * fast wrong answer cannot win. Prints a table; appends JSON lines to --out.
 *
 *   npx tsx bench/docker.ts [--files 20000] [--reps 3] [--changes 20] [--noops 5] [--out FILE]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { BenchContainer } from './lib/container.js';
import { startDocker } from './lib/docker-env.js';
import { Cleanup, integerOption, isMain, parseOptions, runMain, stringOption } from './lib/main.js';
import { compareManifests, localManifest, MANIFEST_SCRIPT, parseManifest, type ManifestComparison } from './lib/manifest.js';
import { cleanEnvironment, CLI_PATH, MutagenCli, REPOSITORY_ROOT } from './lib/mutagen.js';
import { check, rssKiB, run } from './lib/proc.js';
import { JsonLines, median, progress, quantile, round, secondsSince, table } from './lib/report.js';
import { DEFAULT_GENERATOR, generateTree, SmallEdit, type TreeSummary } from './lib/workload.js';

export interface DockerBenchOptions {
  readonly files: number;
  readonly reps: number;
  readonly changes: number;
  readonly noops: number;
  readonly mode: string;
  readonly changeMethod: 'poll' | 'flush';
  readonly pollMs: number;
  readonly gapMs: number;
  readonly changeTimeoutS: number;
  readonly out: string;
  readonly generator: string;
  readonly cli: string;
}

export const DOCKER_USAGE = `usage: npx tsx bench/docker.ts [options]
  --files N          files in the generated tree (20000; smoke: 2000)
  --reps N           initial-sync repetitions, docker cp and mutagen interleaved (3)
  --changes N        small-change propagations (20)
  --noops N          no-op flushes (5)
  --mode M           mutagen sync mode (two-way-safe)
  --change M         poll (write, then poll inside the container) | flush (write, sync flush, check) (poll)
  --poll-ms N        in-container poll interval (2)
  --gap-ms N         pause between small changes (100)
  --change-timeout S give up on one change after S seconds (60)
  --out FILE         JSON lines appended here (bench/results-docker.jsonl)
  --generator FILE   the referee's gen-workload.mjs (${DEFAULT_GENERATOR})
  --cli FILE         the mutagen CLI to measure (${CLI_PATH}; agent.mjs beside it)`;

const OPTIONS = {
  files: { type: 'string' }, reps: { type: 'string' }, changes: { type: 'string' }, noops: { type: 'string' }, mode: { type: 'string' },
  change: { type: 'string' }, 'poll-ms': { type: 'string' }, 'gap-ms': { type: 'string' }, 'change-timeout': { type: 'string' },
  out: { type: 'string' }, generator: { type: 'string' }, cli: { type: 'string' },
} as const;

export function dockerOptions(argv: readonly string[]): DockerBenchOptions {
  const values = parseOptions(argv, OPTIONS, DOCKER_USAGE);
  const change = stringOption(values, 'change', 'poll');
  if (change !== 'poll' && change !== 'flush') throw new Error(`--change wants poll or flush, not ${change}`);
  return {
    files: integerOption(values, 'files', 20_000), reps: Math.max(1, integerOption(values, 'reps', 3)),
    changes: integerOption(values, 'changes', 20), noops: integerOption(values, 'noops', 5), mode: stringOption(values, 'mode', 'two-way-safe'),
    changeMethod: change, pollMs: Math.max(1, integerOption(values, 'poll-ms', 2)), gapMs: integerOption(values, 'gap-ms', 100),
    changeTimeoutS: Math.max(1, integerOption(values, 'change-timeout', 60)),
    out: path.resolve(stringOption(values, 'out', path.join(REPOSITORY_ROOT, 'bench/results-docker.jsonl'))),
    generator: stringOption(values, 'generator', DEFAULT_GENERATOR), cli: path.resolve(stringOption(values, 'cli', CLI_PATH)),
  };
}

const engineInfo = z.object({ ServerVersion: z.string(), Driver: z.string() });

interface Context {
  readonly options: DockerBenchOptions;
  readonly signal: AbortSignal;
  readonly records: JsonLines;
  readonly tree: string;
  readonly workload: TreeSummary;
  readonly dockerHost: string;
  readonly container: BenchContainer;
  readonly cli: MutagenCli;
}

interface Initial {
  readonly cp: number[];
  readonly mutagen: number[];
  readonly create: number[];
  readonly flush: number[];
  readonly verified: boolean;
  readonly session: string;
  readonly destination: string;
}

/** Runs the whole Docker bench; resolves false when a verification failed. */
export async function runDockerBench(options: DockerBenchOptions, signal: AbortSignal): Promise<boolean> {
  const cleanup = new Cleanup();
  try {
    const records = new JsonLines(options.out, 'docker');
    await records.header({ bench: 'docker', ...options });
    const work = await mkdtemp(path.join(os.tmpdir(), 'mtb-docker-'));
    cleanup.defer('work directory', () => rm(work, { recursive: true, force: true }));
    const tree = path.join(work, 'tree');
    progress(`generating ${options.files} files (${options.generator})`);
    const workload = await generateTree(options.generator, tree, options.files, signal);
    await records.write({ type: 'workload', ...workload });
    progress('starting the docker engine and images (test/setup/docker.ts)');
    const docker = await startDocker();
    cleanup.defer('docker', () => docker.close());
    const engine = engineInfo.safeParse(await docker.docker.info());
    await records.write({ type: 'engine', host: docker.host, reused: docker.reusedEngine, image: docker.image, ...(engine.success ? engine.data : {}) });
    const container = await BenchContainer.start(docker.docker, docker.image);
    cleanup.defer(`container ${container.name}`, () => container.remove());
    const cli = await MutagenCli.create({ DOCKER_HOST: docker.host }, options.cli);
    cleanup.defer('mutagen daemon', () => cli.close());
    const daemon = await cli.startDaemon(signal);
    await records.write({ type: 'measure', bench: 'docker', scenario: 'daemon-start', tool: 'mutagen', seconds: round(daemon.seconds) });
    progress(`engine ${docker.host}${docker.reusedEngine ? ' (reused)' : ''}, container ${container.name}, daemon pid ${daemon.pid}`);
    const context: Context = { options, signal, records, tree, workload, dockerHost: docker.host, container, cli };
    return await measureAll(context);
  } finally {
    await cleanup.run();
  }
}

async function measureAll(context: Context): Promise<boolean> {
  const initial = await measureInitial(context);
  const daemonRss = context.cli.pid === undefined ? undefined : await rssKiB(context.cli.pid);
  const noop = await measureNoop(context, initial.session);
  const small = await measureSmallChanges(context, initial.session, initial.destination);
  await context.cli.ok(['sync', 'flush', initial.session], context.signal);
  const final = compareManifests(await localManifest(context.tree, context.signal), await containerManifest(context, initial.destination));
  reportMismatch('after the small changes', initial.destination, final);
  const verified = initial.verified && small.verified && final.identical;
  const summary = summarize(context, initial, noop, small, verified, daemonRss);
  for (const record of summary) await context.records.write(record);
  printTable(context, summary);
  return verified;
}

async function measureInitial(context: Context): Promise<Initial> {
  const { options, signal, records, cli } = context;
  const dockerEnv = cleanEnvironment({ DOCKER_HOST: context.dockerHost });
  const cp: number[] = [];
  const mutagen: number[] = [];
  const creates: number[] = [];
  const flushes: number[] = [];
  let session = '';
  for (let rep = 1; rep <= options.reps; rep++) {
    await run(['sync'], { signal });
    progress(`initial r${rep}: docker cp`);
    const copy = check(await run(['docker', 'cp', context.tree, `${context.container.name}:/dst-cp.r${rep}`], { env: dockerEnv, signal }));
    cp.push(copy.seconds);
    await records.write({ type: 'measure', bench: 'docker', scenario: 'initial', tool: 'docker-cp', rep, seconds: round(copy.seconds) });
    await run(['sync'], { signal });
    if (session !== '') await cli.ok(['sync', 'terminate', session], signal);
    session = `bench-docker-r${rep}`;
    progress(`initial r${rep}: mutagen sync create + flush`);
    const start = process.hrtime.bigint();
    const create = await cli.ok(['sync', 'create', context.tree, `docker://${context.container.name}/dst-m.r${rep}`, '--mode', options.mode, '--name', session], signal);
    const flush = await cli.ok(['sync', 'flush', session], signal);
    const seconds = secondsSince(start);
    mutagen.push(seconds);
    creates.push(create.seconds);
    flushes.push(flush.seconds);
    await records.write({
      type: 'measure', bench: 'docker', scenario: 'initial', tool: 'mutagen', mode: options.mode, rep,
      seconds: round(seconds), create_s: round(create.seconds), flush_s: round(flush.seconds),
    });
  }
  const source = await localManifest(context.tree, signal);
  let verified = true;
  for (let rep = 1; rep <= options.reps; rep++) {
    for (const destination of [`/dst-cp.r${rep}`, `/dst-m.r${rep}`]) {
      const comparison = compareManifests(source, await containerManifest(context, destination));
      reportMismatch('initial', destination, comparison);
      await records.write({ type: 'verify', bench: 'docker', scenario: 'initial', destination, ...comparison });
      verified &&= comparison.identical;
    }
  }
  return { cp, mutagen, create: creates, flush: flushes, verified, session, destination: `/dst-m.r${options.reps}` };
}

/** No-op flushes, each after a `mutagen version` call (the CLI's own start-up, for scale). */
async function measureNoop(context: Context, session: string): Promise<{ flush: number[]; startup: number[] }> {
  const flushes: number[] = [];
  const startup: number[] = [];
  for (let rep = 1; rep <= context.options.noops; rep++) {
    const version = await context.cli.ok(['version'], context.signal);
    startup.push(version.seconds);
    const flush = await context.cli.ok(['sync', 'flush', session], context.signal);
    flushes.push(flush.seconds);
    await context.records.write({ type: 'measure', bench: 'docker', scenario: 'noop-flush', tool: 'mutagen', rep, seconds: round(flush.seconds), cli_startup_s: round(version.seconds) });
  }
  return { flush: flushes, startup };
}

async function measureSmallChanges(context: Context, session: string, destination: string): Promise<{ ms: number[]; verified: boolean }> {
  const { options, signal, records } = context;
  const edit = await SmallEdit.open(context.tree, context.workload.sample_file);
  const target = path.posix.join(destination, context.workload.sample_file);
  const poller = await context.container.poller();
  const ms: number[] = [];
  let verified = true;
  try {
    progress(`small changes: ${options.changes} x ${context.workload.sample_file} (${options.changeMethod})`);
    for (let rep = 1; rep <= options.changes; rep++) {
      signal.throwIfAborted();
      const content = edit.next();
      const timing = { intervalMs: options.pollMs, timeoutMs: options.changeTimeoutS * 1000 };
      let arrived: Promise<boolean>;
      const start = process.hrtime.bigint();
      if (options.changeMethod === 'poll') {
        arrived = poller.waitFor(target, content, timing);
        await edit.write(content);
      } else {
        await edit.write(content);
        await context.cli.ok(['sync', 'flush', session], signal);
        arrived = poller.waitFor(target, content, { ...timing, timeoutMs: 0 });
      }
      const ok = await arrived;
      const elapsed = secondsSince(start) * 1000;
      verified &&= ok;
      if (ok) ms.push(elapsed);
      await records.write({ type: 'measure', bench: 'docker', scenario: 'small-change', tool: 'mutagen', method: options.changeMethod, rep, ms: round(elapsed, 1), ok });
      if (options.gapMs > 0) await delay(options.gapMs, undefined, { signal });
    }
  } finally {
    poller.close();
  }
  return { ms, verified };
}

async function containerManifest(context: Context, root: string): Promise<string[]> {
  return parseManifest(await context.container.exec(['node', '-e', MANIFEST_SCRIPT, root]));
}

function reportMismatch(when: string, destination: string, comparison: ManifestComparison): void {
  if (comparison.identical) return;
  progress(`VERIFY FAILED (${when}) ${destination}: ${comparison.differences} differing lines; missing ${JSON.stringify(comparison.missing)}; unexpected ${JSON.stringify(comparison.unexpected)}`);
}

type Summary = Record<string, unknown> & { readonly scenario: string; readonly tool: string };

function summarize(context: Context, initial: Initial, noop: { flush: number[]; startup: number[] }, small: { ms: number[]; verified: boolean }, verified: boolean, daemonRssKiB: number | undefined): Summary[] {
  const base = { type: 'summary', bench: 'docker', files: context.workload.files, bytes: context.workload.bytes, verified };
  const cpMedian = median(initial.cp);
  const mutagenMedian = median(initial.mutagen);
  const spread = (values: readonly number[]): Record<string, number> => ({
    n: values.length, median: round(median(values)), min: round(Math.min(...values)), max: round(Math.max(...values)),
  });
  return [
    { ...base, scenario: 'initial', tool: 'docker-cp', unit: 's', ...spread(initial.cp) },
    { ...base, scenario: 'initial', tool: 'mutagen', mode: context.options.mode, unit: 's', ...spread(initial.mutagen), ratio_to_docker_cp: round(mutagenMedian / cpMedian, 2), target: '<= 1.5x docker cp',
      create_median: round(median(initial.create)), flush_median: round(median(initial.flush)), daemon_rss_mib: daemonRssKiB === undefined ? undefined : round(daemonRssKiB / 1024, 1),
      detail: `create ${median(initial.create).toFixed(2)} s + flush ${median(initial.flush).toFixed(2)} s (r1 includes the agent install)` },
    { ...base, scenario: 'noop-flush', tool: 'mutagen', unit: 's', ...spread(noop.flush), target: '<= 0.3 s', cli_startup_median: round(median(noop.startup)),
      detail: `whole CLI call; \`mutagen version\` alone: ${median(noop.startup).toFixed(3)} s` },
    { ...base, scenario: 'small-change', tool: 'mutagen', method: context.options.changeMethod, unit: 'ms', ...spread(small.ms), p90: round(quantile(small.ms, 0.9), 1), failed: context.options.changes - small.ms.length, target: 'median <= 150 ms',
      detail: `p90 ${quantile(small.ms, 0.9).toFixed(1)} ms, ${context.options.changes - small.ms.length} not arrived` },
  ];
}

function printTable(context: Context, summary: readonly Summary[]): void {
  const number = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  const rows = summary.map((s) => [
    s.scenario, s.tool, text(s['unit']), number(s['n']), number(s['median']), number(s['min']), number(s['max']), number(s['ratio_to_docker_cp']), text(s['target']), text(s['detail']),
  ]);
  const { workload } = context;
  process.stdout.write(`\nDocker transport vs docker cp — ${workload.files} files, ${workload.dirs} dirs, ${workload.symlinks} symlinks, ${(workload.bytes / 2 ** 20).toFixed(1)} MiB; mode ${context.options.mode}; small change: ${context.options.changeMethod}\n`);
  process.stdout.write(`${table(['scenario', 'tool', 'unit', 'n', 'median', 'min', 'max', 'x docker cp', 'target', 'detail'], rows)}\n`);
  process.stdout.write(`verified (content manifests identical): ${String(summary[0]?.['verified'])}; records: ${context.options.out}\n`);
}

if (isMain(import.meta.url)) runMain((signal) => runDockerBench(dockerOptions(process.argv.slice(2)), signal));
