/**
 * Runs one of the tests' vitest globalSetup modules (test/setup/docker.ts, test/setup/sshd.ts)
 * outside vitest, so the benches start dockerd/sshd and build images exactly as the tests do.
 * Those setups only ever call `project.provide(key, value)`; this captures what they provide.
 */
import type { ProvidedContext } from 'vitest';
import type { TestProject } from 'vitest/node';

export type GlobalSetup = (project: TestProject) => Promise<() => Promise<void>>;

export interface GlobalSetupResult {
  readonly provided: Partial<ProvidedContext>;
  /** The setup's own teardown (stops what it started). */
  readonly teardown: () => Promise<void>;
}

export async function runGlobalSetup(setup: GlobalSetup): Promise<GlobalSetupResult> {
  const provided: Partial<ProvidedContext> = {};
  const project: Pick<TestProject, 'provide'> = {
    provide: (key, value) => {
      provided[key] = value;
    },
  };
  // A narrowing cast, not a parse: the setups use nothing of TestProject but provide().
  const teardown = await setup(project as TestProject);
  return { provided, teardown };
}
