import { rm } from 'node:fs/promises';
import { it } from 'vitest';
import { describeWithSshd, SSH_TEST_HOST, sshTestHome } from '../helpers/sshd.js';
import { expectAllVectorsPassed, runVectorHarness } from '../helpers/vectors.js';

describeWithSshd('public reconciliation vectors with beta over SSH', (sshd) => {
  it('all pass with beta reached through the real sshd and an installed agent', async () => {
    // The daemon (autostarted by the harness's CLI calls) reads this HOME's ~/.ssh/config, keys
    // and known_hosts; the remote agent installs under the sshd's MUTAGEN_DATA_DIRECTORY.
    const home = await sshTestHome(sshd);
    try {
      expectAllVectorsPassed(await runVectorHarness(['--beta-url-template', `${SSH_TEST_HOST}:{path}`], { HOME: home.home }));
    } finally {
      await rm(home.home, { recursive: true, force: true });
    }
  });
});
