/**
 * The bench's container (`--network none`, random name, bench label) and commands inside it
 * through the Engine API: one-shot execs, and a long-lived in-container poller that reports
 * when a file reaches the expected content (polling there, so the figure has no exec start-up).
 */
import { randomBytes } from 'node:crypto';
import { PassThrough, type Duplex } from 'node:stream';
import type Docker from 'dockerode';

export const BENCH_CONTAINER_LABEL = 'mutagen-ts-bench';

/** Waits in the container until a file has the requested bytes; one request at a time. */
const POLLER_SCRIPT = `
const fs = require('fs');
require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const q = JSON.parse(line);
  const want = Buffer.from(q.content, 'base64');
  const deadline = Date.now() + q.timeoutMs;
  const tick = () => {
    let ok = false;
    try { ok = fs.statSync(q.path).size === want.length && fs.readFileSync(q.path).equals(want); } catch {}
    if (ok) process.stdout.write('ok\\n');
    else if (Date.now() > deadline) process.stdout.write('timeout\\n');
    else setTimeout(tick, q.intervalMs);
  };
  tick();
});
`;

export interface Poller {
  /** Resolves true once `path` holds `content`, false after `timeoutMs`. Send it before the change. */
  waitFor(path: string, content: Buffer, options: { readonly intervalMs: number; readonly timeoutMs: number }): Promise<boolean>;
  close(): void;
}

export class BenchContainer {
  private constructor(readonly name: string, private readonly docker: Docker, private readonly container: Docker.Container) {}

  /** Creates and starts a container that sleeps forever, with no network. */
  static async start(docker: Docker, image: string): Promise<BenchContainer> {
    const name = `mutagen-bench-${randomBytes(4).toString('hex')}`;
    const container = await docker.createContainer({
      name, Image: image, Cmd: ['sleep', 'infinity'], Labels: { [BENCH_CONTAINER_LABEL]: '1' }, HostConfig: { NetworkMode: 'none' },
    });
    await container.start();
    return new BenchContainer(name, docker, container);
  }

  /** Runs argv as root and returns stdout; throws with stderr on a non-zero exit. */
  async exec(argv: readonly string[]): Promise<string> {
    const exec = await this.container.exec({ Cmd: [...argv], User: '0', AttachStdout: true, AttachStderr: true, Tty: false });
    const stream = await exec.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    const { stdout, stderr } = demultiplex(Buffer.concat(chunks));
    const info = await exec.inspect();
    if (info.ExitCode !== 0) throw new Error(`${argv.slice(0, 2).join(' ')} in ${this.name} exited ${String(info.ExitCode)}: ${stderr.slice(-2000)}`);
    return stdout;
  }

  /** Starts the in-container poller (node -e) on one exec stream. */
  async poller(): Promise<Poller> {
    const exec = await this.container.exec({ Cmd: ['node', '-e', POLLER_SCRIPT], User: '0', AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false });
    const stream: Duplex = await exec.start({ hijack: true, stdin: true });
    const out = new PassThrough();
    this.docker.modem.demuxStream(stream, out, new PassThrough());
    let buffered = '';
    let waiter: ((line: string) => void) | undefined;
    out.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        waiter?.(line);
      }
    });
    const ended = new Promise<string>((resolve) => stream.once('close', () => resolve('closed')));
    return {
      waitFor: async (path, content, options) => {
        const answer = new Promise<string>((resolve) => { waiter = resolve; });
        stream.write(`${JSON.stringify({ path, content: content.toString('base64'), ...options })}\n`);
        const line = await Promise.race([answer, ended]);
        waiter = undefined;
        if (line === 'closed') throw new Error(`the poller in ${this.name} ended`);
        return line === 'ok';
      },
      close: () => { stream.end(); stream.destroy(); },
    };
  }

  /** Removes the container (forced); a container that is already gone is fine. */
  async remove(): Promise<void> {
    await this.container.remove({ force: true }).catch((error: unknown) => {
      if (!(typeof error === 'object' && error !== null && 'statusCode' in error && error.statusCode === 404)) throw error;
    });
  }
}

/** Splits Docker's multiplexed exec output (8-byte frame headers: stream, 0, 0, 0, length). */
function demultiplex(raw: Buffer): { stdout: string; stderr: string } {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  for (let offset = 0; offset + 8 <= raw.length;) {
    const length = raw.readUInt32BE(offset + 4);
    const payload = raw.subarray(offset + 8, offset + 8 + length);
    (raw[offset] === 2 ? stderr : stdout).push(payload);
    offset += 8 + length;
  }
  return { stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
}
