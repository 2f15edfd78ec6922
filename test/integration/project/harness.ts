import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach } from 'vitest';
import { DaemonClient } from '../../../src/daemon/client.js';
import { startDaemon, type RunningDaemon } from '../../../src/daemon/daemon.js';
import { daemonPaths, type DaemonPaths } from '../../../src/daemon/paths.js';
import type { SyncSessionState } from '../../../src/model/session.js';
import type { ProgressEvent } from '../../../src/runtime/progress.js';
import type { ProjectEnvironment } from '../../../src/runtime/project.js';
import { ForwardManager } from '../../../src/forward/manager.js';
import { SyncManager } from '../../../src/sync/manager.js';
import { testLogger } from '../../helpers/engine.js';
import { makeTempDirectory } from '../../helpers/temp.js';

/**
 * A project folder, a HOME and an in-process daemon running the real SyncManager (local
 * endpoints) on a temp data directory; the runtime talks to it through the real client and
 * socket. Progress events and hook output are recorded (hooks run with piped output).
 */
export interface ProjectHarness {
  readonly root: string;
  readonly file: string;
  readonly home: string;
  readonly paths: DaemonPaths;
  readonly events: ProgressEvent[];
  /** Hook and command output and `> command` echoes, in order. */
  readonly transcript: string[];
  write(text: string): Promise<void>;
  environment(overrides?: Partial<ProjectEnvironment>): ProjectEnvironment;
  /** All sync sessions the daemon has (any project). */
  sessions(): Promise<SyncSessionState[]>;
  /** Task ends as `<result> <title>`, in order. */
  taskEnds(): string[];
  reset(): void;
}

export function useProjectHarness(): () => Promise<ProjectHarness> {
  const daemons: RunningDaemon[] = [];
  const directories: string[] = [];
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((daemon) => daemon.close()));
    // A session's last scan-cache write may still be landing while the tree is removed: retry.
    await Promise.all(directories.splice(0).map((directory) => rm(directory, { recursive: true, force: true, maxRetries: 5 })));
  });
  return async () => {
    const base = await makeTempDirectory('mtp-');
    directories.push(base);
    const root = path.join(base, 'project');
    const home = path.join(base, 'home');
    await mkdir(root);
    await mkdir(home);
    const paths = daemonPaths(path.join(base, 'data'));
    const daemon = await startDaemon({
      paths,
      logger: testLogger(),
      createSync: async () => {
        const manager = new SyncManager({ dataDirectory: paths.dataDirectory, logger: testLogger(), version: '0.1.0-test' });
        await manager.initialize();
        return manager;
      },
      createForward: async () => {
        const manager = new ForwardManager({ dataDirectory: paths.dataDirectory, logger: testLogger(), version: '0.1.0-test' });
        await manager.initialize();
        return manager;
      },
    });
    daemons.push(daemon);
    const events: ProgressEvent[] = [];
    const transcript: string[] = [];
    const signal = new AbortController().signal;
    const harness: ProjectHarness = {
      root,
      file: path.join(root, 'mutagen.yml'),
      home,
      paths,
      events,
      transcript,
      write: (text) => writeFile(path.join(root, 'mutagen.yml'), text),
      environment: (overrides = {}) => ({
        cwd: root,
        projectFile: undefined,
        home,
        env: { PATH: process.env['PATH'], HOME: home },
        signal,
        connect: () => DaemonClient.dial(paths.socket, signal, 5_000),
        sink: (event) => {
          events.push(event);
          if (event.kind === 'hook-command') transcript.push(`> ${event.command}`);
        },
        hookIo: { kind: 'pipe', write: (_stream, text) => { transcript.push(text.trimEnd()); } },
        ...overrides,
      }),
      sessions: async () => {
        const client = await DaemonClient.dial(paths.socket, signal, 5_000);
        try {
          return (await client.call('sync.list', { selection: {} }, { signal })).sessions;
        } finally {
          client.close();
        }
      },
      taskEnds: () => events.flatMap((event) => (event.kind === 'task-end' ? [`${event.result} ${event.task.title}`] : [])),
      reset: () => {
        events.length = 0;
        transcript.length = 0;
      },
    };
    return harness;
  };
}
