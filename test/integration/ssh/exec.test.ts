import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeWithSshd } from '../../helpers/sshd.js';
import { readAll, useSsh } from './fixture.js';

describeWithSshd('ssh transport: exec', (sshd) => {
  const ssh = useSsh(sshd);

  it('runs a command in the home directory and reports its exit code', async () => {
    const home = await ssh.home();
    const transport = await ssh.connect(home);
    expect(transport.description).toBe(`${sshd.user}@mutagen-test:${sshd.main.port}`);
    const child = await ssh.run(transport, ['sh', '-c', 'pwd; echo "$MUTAGEN_DATA_DIRECTORY"; exit 3']);
    const output = (await readAll(child.stdout)).toString();
    expect(output.split('\n').slice(0, 2)).toEqual([(await import('node:os')).userInfo().homedir, sshd.remoteDataDirectory]);
    expect(await child.exit).toEqual({ code: 3, signal: null });
  });

  it('passes arguments exactly (quoting for the remote shell)', async () => {
    const transport = await ssh.connect(await ssh.home());
    const args = ['plain', 'with space', "it's", '$HOME', '`id`', '"q"', '', 'a\nb', '*', ';', '\\'];
    const child = await ssh.run(transport, ['printf', '%s\\0', ...args]);
    const output = (await readAll(child.stdout)).toString();
    expect(output.split('\0').slice(0, -1)).toEqual(args);
    expect((await child.exit).code).toBe(0);
  });

  it('round-trips binary data through cat', async () => {
    const transport = await ssh.connect(await ssh.home());
    const child = await ssh.run(transport, ['cat']);
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const received = readAll(child.stdout);
    child.stdin.end(data);
    expect((await received).equals(data)).toBe(true);
    expect((await child.exit).code).toBe(0);
  });

  it('reports 127 for a missing command and keeps the stderr tail', async () => {
    const transport = await ssh.connect(await ssh.home());
    const missing = await ssh.run(transport, ['mutagen-no-such-command-xyz']);
    await readAll(missing.stdout);
    expect((await missing.exit).code).toBe(127);
    expect(missing.stderr()).toContain('mutagen-no-such-command-xyz');

    const noisy = await ssh.run(transport, ['sh', '-c', 'head -c 100000 /dev/zero | tr "\\0" x >&2; echo END >&2']);
    await readAll(noisy.stdout);
    await noisy.exit;
    const tail = noisy.stderr();
    expect(tail.length).toBe(32 * 1024);
    expect(tail.endsWith('xEND\n')).toBe(true);
  });

  it('close() ends stdin and stops a command that keeps running', async () => {
    const transport = await ssh.connect(await ssh.home());
    const reader = await ssh.run(transport, ['sh', '-c', 'cat >/dev/null; echo done']);
    const output = readAll(reader.stdout);
    await reader.close();
    expect((await output).toString()).toBe('done\n');
    expect((await reader.exit).code).toBe(0);

    // Ignores stdin: close() signals it (works for non-root users; OpenSSH refuses signals for
    // root logins), then gives up waiting. Either way `exit` settles without a success status.
    const sleeper = await ssh.run(transport, ['sh', '-c', 'echo $$; exec sleep 1000']);
    const pid = Number((await new Promise<Buffer>((resolve) => sleeper.stdout.once('data', resolve))).toString().trim());
    expect(pid).toBeGreaterThan(1);
    try {
      await sleeper.close();
      const exit = await sleeper.exit;
      expect(exit.code).toBe(null);
    } finally {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Killed by the signal request.
      }
    }
  });

  it('shares one connection between transports to the same host', async () => {
    const home = await ssh.home();
    const pool = ssh.pool();
    // Concurrent connects wait for the same handshake.
    const [first, second] = await Promise.all([ssh.connect(home, { pool }), ssh.connect(home, { pool })]);
    const [a, b] = await Promise.all([first, second].map(async (transport) => {
      const child = await ssh.run(transport, ['sh', '-c', 'echo "$SSH_CONNECTION"']);
      return (await readAll(child.stdout)).toString().trim();
    }));
    expect(a).toBe(b);
    expect(pool.connectionsOpened).toBe(1);
    expect(pool.openConnections).toBe(1);
    await first.close();
    expect(pool.openConnections).toBe(1);
    await second.close();
    expect(pool.openConnections).toBe(0);
  });
});
