import type { Readable } from 'node:stream';
import { afterEach } from 'vitest';
import { Logger, silentLogger } from '../../../src/base/logger.js';
import { SshConnectionPool, SshTransport, type SshConnectOptions, type SshEndpoint } from '../../../src/agent/transport/ssh/transport.js';
import type { RemoteProcess } from '../../../src/agent/transport/transport.js';
import type { Prompter } from '../../../src/base/prompter.js';
import { SSH_TEST_HOST, sshTestHome, type AvailableSshd, type SshTestHome, type SshTestHomeOptions } from '../../helpers/sshd.js';
import { useTempDirectories } from '../../helpers/temp.js';

/** Set MUTAGEN_TEST_SSH_LOG=debug to see the transport's log on stderr. */
export const testLogger = process.env['MUTAGEN_TEST_SSH_LOG'] === undefined ? silentLogger : new Logger(process.stderr, 'debug');

export interface SshFixture {
  /** A fresh pool per test (closed after it). */
  pool(): SshConnectionPool;
  home(options?: Omit<SshTestHomeOptions, 'makeDirectory'>): Promise<SshTestHome>;
  /** Connects with the home's config; the transport is closed after the test. */
  connect(home: SshTestHome, options?: { target?: SshEndpoint; prompter?: Prompter; pool?: SshConnectionPool; env?: SshConnectOptions['env'] }): Promise<SshTransport>;
  /** Starts argv; the process is closed after the test. */
  run(transport: SshTransport, argv: readonly string[]): Promise<RemoteProcess>;
}

export function useSsh(sshd: AvailableSshd): SshFixture {
  const temp = useTempDirectories();
  const pools: SshConnectionPool[] = [];
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await Promise.all(pools.splice(0).map((pool) => pool.close()));
  });
  const pool = (): SshConnectionPool => {
    const created = new SshConnectionPool({ logger: testLogger });
    pools.push(created);
    return created;
  };
  let shared: SshConnectionPool | undefined;
  afterEach(() => { shared = undefined; });
  return {
    pool,
    home: (options) => sshTestHome(sshd, { ...options, makeDirectory: temp }),
    async connect(home, options = {}) {
      const transport = await SshTransport.connect(options.target ?? { host: SSH_TEST_HOST }, {
        home: home.home,
        logger: testLogger,
        pool: options.pool ?? (shared ??= pool()),
        systemConfigFile: null,
        env: options.env ?? {},
        ...(options.prompter === undefined ? {} : { prompter: options.prompter }),
      }, AbortSignal.timeout(60_000));
      closers.push(() => transport.close());
      return transport;
    },
    async run(transport, argv) {
      const child = await transport.start(argv, AbortSignal.timeout(60_000));
      closers.push(() => child.close());
      return child;
    },
  };
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

/** A Prompter that records every question and answers through `answer`. */
export class RecordingPrompter implements Prompter {
  readonly prompts: { kind: 'echo' | 'secret'; message: string }[] = [];
  readonly statuses: string[] = [];
  constructor(private readonly answer: (message: string) => string) {}

  prompt(request: { readonly kind: 'echo' | 'secret'; readonly message: string }): Promise<string> {
    this.prompts.push({ ...request });
    return Promise.resolve(this.answer(request.message));
  }

  status(message: string): void {
    this.statuses.push(message);
  }
}
