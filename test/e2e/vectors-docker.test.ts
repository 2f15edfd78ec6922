import { it } from 'vitest';
import { describeDocker, useContainers } from '../helpers/docker.js';
import { useTempDirectories } from '../helpers/temp.js';
import { expectAllVectorsPassed, runVectorHarness } from '../helpers/vectors.js';

describeDocker('public reconciliation vectors with beta inside a container', (docker) => {
  const containers = useContainers(docker);
  const temp = useTempDirectories();

  it('all pass with beta reached through the Docker Engine API and an agent installed in the container', async () => {
    // The harness writes and reads both roots on the host, so the container sees the same tree
    // at the same path (a bind mount); the daemon reaches it only through exec + the agent.
    const shared = await temp('mvd-');
    const container = await containers.start(docker.images.node, { binds: [`${shared}:${shared}`] });
    expectAllVectorsPassed(await runVectorHarness(
      ['--beta-url-template', `docker://${container.name}{path}`],
      { TMPDIR: shared, DOCKER_HOST: docker.dockerHost },
    ));
  });
});
