import { expect, it } from 'vitest';
import type { EndpointUrl } from '../../../src/model/url.js';
import { describeDocker, useContainers, type TestContainer } from '../../helpers/docker.js';
import { eventually } from '../../helpers/eventually.js';
import { readAll, rejection, useForwardRemote } from './fixture.js';

const signal = (): AbortSignal => AbortSignal.timeout(120_000);

function dockerUrl(container: TestContainer, endpoint: string): EndpointUrl {
  return { kind: 'forward', protocol: 'docker', host: container.name, path: endpoint, environment: { ...container.environment } };
}

/** Starts `node -e script` in the container in the background (the exec is detached). */
async function startInBackground(container: TestContainer, script: string): Promise<void> {
  const exec = await container.container.exec({ Cmd: ['node', '-e', script], User: '0', AttachStdout: false, AttachStderr: false });
  await exec.start({ Detach: true });
}

/** A client inside the container: connects to `target` (a port or a socket path), sends `message`, half-closes, prints the answer. */
function clientScript(target: string | number, message: string): string {
  const address = typeof target === 'number' ? `{ host: '127.0.0.1', port: ${target} }` : `{ path: ${JSON.stringify(target)} }`;
  return `
    const net = require('net');
    const socket = net.createConnection(${address}, () => socket.end(${JSON.stringify(message)}));
    const chunks = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => process.stdout.write(Buffer.concat(chunks)));
    socket.on('error', (error) => { process.stderr.write(String(error)); process.exit(3); });`;
}

describeDocker('forwarding endpoints inside a --network none container (agent in forwarder mode over the Docker engine)', (docker) => {
  const containers = useContainers(docker);
  const fixture = useForwardRemote();

  it('destination: the agent dials an echo server on the container loopback, unreachable from the host', async () => {
    const container = await containers.start(docker.images.node);
    const remote = await fixture.remote(await fixture.temp('mtfr-home-'));
    const port = 7411;
    const destination = fixture.track(await remote.forward.destination(fixture.request(dockerUrl(container, `tcp:127.0.0.1:${port}`)), signal()));
    // Nothing listens yet: one dropped connection, not a broken endpoint.
    expect((await rejection(destination.dial(signal()))).code).toBe('MUTAGEN_FORWARD_DIAL');
    await startInBackground(container, `require('net').createServer((s) => { s.on('error', () => {}); s.pipe(s); }).listen(${port}, '127.0.0.1')`);
    const first = await eventually(() => destination.dial(signal()), { timeoutMs: 30_000, intervalMs: 100 });
    first.end('first through the container');
    expect((await readAll(first)).toString()).toBe('first through the container');
    const answers = await Promise.all(Array.from({ length: 50 }, async (_, index) => {
      const stream = await destination.dial(signal());
      stream.end(`echo ${index} `.repeat(1000));
      return (await readAll(stream)).toString();
    }));
    expect(answers).toEqual(Array.from({ length: 50 }, (_, index) => `echo ${index} `.repeat(1000)));
  });

  it('source on TCP: the agent listens on the container loopback; a client inside the container reaches the daemon side', async () => {
    const container = await containers.start(docker.images.node);
    const remote = await fixture.remote(await fixture.temp('mtfr-home-'));
    const source = fixture.track(await remote.forward.source(fixture.request(dockerUrl(container, 'tcp:127.0.0.1:7412')), signal()));
    const serve = (async () => {
      const stream = await source.accept(signal());
      const request = await readAll(stream);
      stream.end(Buffer.concat([Buffer.from('daemon saw: '), request]));
    })();
    const output = await container.run(['node', '-e', clientScript(7412, 'hello from inside')]);
    await serve;
    expect(output).toBe('daemon saw: hello from inside');
  });

  it('source on a home-relative Unix socket: bound in the container user\'s home, removed at shutdown', async () => {
    const container = await containers.start(docker.images.node);
    const remote = await fixture.remote(await fixture.temp('mtfr-home-'));
    const source = await remote.forward.source(fixture.request(dockerUrl(container, 'unix:~/fwd.sock')), signal());
    fixture.track(source);
    const home = (await container.run(['sh', '-c', 'echo "$HOME"'])).trim();
    const socketPath = `${home}/fwd.sock`;
    expect((await container.run(['stat', '-c', '%F %a', socketPath])).trim()).toBe('socket 600');
    const serve = (async () => {
      const stream = await source.accept(signal());
      const request = await readAll(stream);
      stream.end(`unix ack: ${request.toString()}`);
    })();
    const output = await container.run(['node', '-e', clientScript(socketPath, 'over the unix socket')]);
    await serve;
    expect(output).toBe('unix ack: over the unix socket');
    await source.shutdown();
    expect(await container.run(['sh', '-c', `test -e ${socketPath} && echo present || echo gone`])).toBe('gone\n');
  });
});
