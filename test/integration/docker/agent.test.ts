import { expect, it } from 'vitest';
import { silentLogger } from '../../../src/base/logger.js';
import { AgentDialer } from '../../../src/agent/dial.js';
import { DockerTransport } from '../../../src/agent/transport/docker/transport.js';
import { buildTestAgent } from '../agent/fixture.js';
import { describeDocker, useContainers, type TestContainer } from '../../helpers/docker.js';
import { useTempDirectories } from '../../helpers/temp.js';

/**
 * The whole provisioning path through the Docker transport: probe, install with putArchive,
 * start with exec, handshake over the demultiplexed stream. The nonode image has no Node.js, so
 * the dialer uploads this machine's runtime (same OS, architecture and libc as the image).
 */
const tempDirectory = useTempDirectories();
const signal = (): AbortSignal => AbortSignal.timeout(180_000);

async function dial(container: TestContainer, user: string | undefined): Promise<{ version: string; agentVersion: string }> {
  const directory = await tempDirectory();
  const bundle = await buildTestAgent(directory);
  const dialer = new AgentDialer({ logger: silentLogger, localDataDirectory: directory, bundle: () => Promise.resolve(bundle), handshakeTimeoutMs: 60_000 });
  const target = { container: container.name, environment: container.environment, ...(user === undefined ? {} : { user }) };
  const transport = await DockerTransport.connect(target, { logger: silentLogger }, signal());
  try {
    const connection = await dialer.dial(transport, { mode: 'synchronizer', logger: silentLogger }, signal());
    await connection.close();
    // A second dial reuses the installed agent (no reinstall, same handshake).
    const again = await dialer.dial(transport, { mode: 'synchronizer', logger: silentLogger }, signal());
    await again.close();
    return { version: connection.peer.version, agentVersion: bundle.version };
  } finally {
    await transport.close();
  }
}

describeDocker('agent dialing through DockerTransport', (docker) => {
  const containers = useContainers(docker);

  it('installs and handshakes with the agent as app in a container with node', async () => {
    const container = await containers.start(docker.images.node);
    const { version, agentVersion } = await dial(container, 'app');
    expect(version).toBe(agentVersion);
    const installed = await container.run(['ls', '/home/app/.mutagen-ts/agents'], { user: 'app' });
    expect(installed.trim()).toBe(agentVersion);
  });

  it('uploads the Node.js runtime into a container without node', async () => {
    const container = await containers.start(docker.images.nonode);
    const { version, agentVersion } = await dial(container, undefined);
    expect(version).toBe(agentVersion);
  });
});
