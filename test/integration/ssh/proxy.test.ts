import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeWithSshd } from '../../helpers/sshd.js';
import { eventually } from '../../helpers/eventually.js';
import { useTempDirectories } from '../../helpers/temp.js';
import { readAll, useSsh } from './fixture.js';

/** A ProxyCommand: records its pid and target in `marker`, then pipes stdio to host:port. */
const PROXY_SCRIPT = `
import net from 'node:net';
import { writeFileSync } from 'node:fs';
const [host, port, marker] = process.argv.slice(2);
writeFileSync(marker, JSON.stringify({ pid: process.pid, host, port: Number(port) }));
const socket = net.connect(Number(port), host);
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on('close', () => process.exit(0));
socket.on('error', () => process.exit(1));
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describeWithSshd('ssh transport: ProxyJump and ProxyCommand', (sshd) => {
  const ssh = useSsh(sshd);
  const temp = useTempDirectories();
  const common = (port: number): string => [
    '  HostName 127.0.0.1', `  Port ${port}`, `  User ${sshd.user}`, '  IdentityFile ~/.ssh/id_ed25519', '  IdentityAgent none',
    '  UserKnownHostsFile ~/.ssh/known_hosts', '  StrictHostKeyChecking yes',
  ].join('\n');

  it('reaches the target through the jump host (direct-tcpip channel in the jump sshd log)', async () => {
    const home = await ssh.home({ extraConfig: `Host behind\n  ProxyJump jumphost\n${common(sshd.main.port)}\nHost jumphost\n${common(sshd.jump.port)}\n` });
    const logBefore = (await readFile(sshd.jump.log, 'utf8')).length;
    const pool = ssh.pool();
    const transport = await ssh.connect(home, { target: { host: 'behind' }, pool });
    const child = await ssh.run(transport, ['sh', '-c', 'echo "$SSH_CONNECTION"']);
    const [, , serverAddress, serverPort] = (await readAll(child.stdout)).toString().trim().split(' ');
    expect([serverAddress, Number(serverPort)]).toEqual(['127.0.0.1', sshd.main.port]);
    expect(pool.connectionsOpened).toBe(2);
    expect(pool.openConnections).toBe(2);
    // Only this file opens tunnels through the jump sshd, and its tests run one at a time.
    await eventually(async () => {
      expect((await readFile(sshd.jump.log, 'utf8')).slice(logBefore)).toContain('server_input_channel_open: ctype direct-tcpip');
    });
    await transport.close();
    await eventually(() => expect(pool.openConnections).toBe(0));
  });

  it('follows a chain of jumps (each hop its own pooled connection)', async () => {
    const home = await ssh.home({ extraConfig: `Host behind2\n  ProxyJump jumphost,jumphost\n${common(sshd.main.port)}\nHost jumphost\n${common(sshd.jump.port)}\n` });
    const pool = ssh.pool();
    const transport = await ssh.connect(home, { target: { host: 'behind2' }, pool });
    const child = await ssh.run(transport, ['echo', 'two hops']);
    expect((await readAll(child.stdout)).toString()).toBe('two hops\n');
    expect(pool.openConnections).toBe(3);
  });

  it('names the jump host when the target cannot be reached through it', async () => {
    const home = await ssh.home({ extraConfig: `Host nowhere\n  ProxyJump jumphost\n${common(1)}\nHost jumphost\n${common(sshd.jump.port)}\n` });
    const error = await ssh.connect(home, { target: { host: 'nowhere' } }).then(() => undefined, (caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'MUTAGEN_TRANSPORT' });
    expect(String((error as Error).message)).toContain(`unable to reach 127.0.0.1:1 through jump host ${sshd.user}@127.0.0.1:${sshd.jump.port}`);
  });

  it('runs ProxyCommand with tokens expanded and stops it when the connection closes', async () => {
    const directory = await temp('mpx-');
    const script = path.join(directory, 'proxy.mjs');
    const marker = path.join(directory, 'marker.json');
    await writeFile(script, PROXY_SCRIPT);
    const home = await ssh.home({ extraConfig: `Host proxied\n  ProxyCommand ${process.execPath} ${script} %h %p ${marker}\n${common(sshd.main.port)}\n` });
    const pool = ssh.pool();
    const transport = await ssh.connect(home, { target: { host: 'proxied' }, pool });
    const child = await ssh.run(transport, ['echo', 'proxied']);
    expect((await readAll(child.stdout)).toString()).toBe('proxied\n');
    const recorded = JSON.parse(await readFile(marker, 'utf8')) as { pid: number; host: string; port: number };
    expect(recorded).toMatchObject({ host: '127.0.0.1', port: sshd.main.port });
    expect(alive(recorded.pid)).toBe(true);
    await child.close();
    await transport.close();
    await pool.close();
    await eventually(() => expect(alive(recorded.pid)).toBe(false));
  });
});
