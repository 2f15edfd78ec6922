/**
 * `npm run bench`: the project's benches in sequence — Docker transport vs `docker cp`
 * (bench/docker.ts), then forwarding vs `ssh -L` (bench/forward.ts, skipped with a note when
 * the CLI has no `forward create`). Options are routed to the bench that knows them; `--smoke`
 * picks small sizes for a quick correctness run. Run a bench file directly for its full options.
 *
 *   npm run bench [-- --only docker|forward] [-- --smoke] [-- --files 2000 --mib 64 ...]
 */
import { DOCKER_USAGE, dockerOptions, runDockerBench } from './docker.js';
import { FORWARD_USAGE, forwardingAvailable, forwardOptions, runForwardBench } from './forward.js';
import { isMain, parseOptions, runMain } from './lib/main.js';
import { progress } from './lib/report.js';

const DOCKER_ONLY = ['files', 'changes', 'noops', 'mode', 'change', 'poll-ms', 'gap-ms', 'change-timeout', 'generator'];
const FORWARD_ONLY = ['mib', 'rounds', 'warmup', 'size', 'connections', 'parallel'];
const SHARED = ['reps', 'cli'];
const SMOKE_DOCKER = ['--files', '2000', '--reps', '1', '--changes', '5', '--noops', '3'];
const SMOKE_FORWARD = ['--mib', '64', '--reps', '2', '--rounds', '200', '--connections', '200'];

const USAGE = `usage: npm run bench -- [--only docker|forward] [--smoke] [options of either bench]
Options go to the bench that has them (--reps and --cli to both); --out is per bench file.

${DOCKER_USAGE}

${FORWARD_USAGE}`;

interface Plan { readonly only: string | undefined; readonly docker: string[]; readonly forward: string[] }

function plan(argv: readonly string[]): Plan {
  const options = Object.fromEntries([...DOCKER_ONLY, ...FORWARD_ONLY, ...SHARED, 'only'].map((name) => [name, { type: 'string' as const }]));
  const values = parseOptions(argv, { ...options, smoke: { type: 'boolean' } }, USAGE);
  const pass = (names: readonly string[]): string[] =>
    names.flatMap((name) => {
      const value = values[name];
      return typeof value === 'string' ? [`--${name}`, value] : [];
    });
  const only = typeof values['only'] === 'string' ? values['only'] : undefined;
  if (only !== undefined && only !== 'docker' && only !== 'forward') throw new Error(`--only wants docker or forward, not ${only}`);
  const smoke = values['smoke'] === true;
  return {
    only,
    docker: [...(smoke ? SMOKE_DOCKER : []), ...pass([...DOCKER_ONLY, ...SHARED])],
    forward: [...(smoke ? SMOKE_FORWARD : []), ...pass([...FORWARD_ONLY, ...SHARED])],
  };
}

async function runAll(argv: readonly string[], signal: AbortSignal): Promise<boolean> {
  const { only, docker, forward } = plan(argv);
  let ok = true;
  if (only !== 'forward') ok = (await runDockerBench(dockerOptions(docker), signal)) && ok;
  if (only !== 'docker') {
    const options = forwardOptions(forward);
    if (await forwardingAvailable(options.cli, signal)) ok = (await runForwardBench(options, signal)) && ok;
    else progress(`forwarding bench skipped: ${options.cli} has no \`forward create\` yet`);
  }
  return ok;
}

if (isMain(import.meta.url)) runMain((signal) => runAll(process.argv.slice(2), signal));
