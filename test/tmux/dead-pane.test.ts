import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TmuxClient } from '../../src/tmux/client.js';
import { TestTmux } from '../helpers/tmux.js';

// tmux 3.3a segfaults — taking every session of the server with it — on
// `paste-buffer` into a pane whose program has exited (remain-on-exit). Found
// by a flaky pane-kill test; the server's crash was in the kernel log.
for (const mode of ['control', 'plain'] as const) {
  describe(`pasting into a dead pane (${mode})`, () => {
    const tmux = new TestTmux();
    let client: TmuxClient;
    before(() => {
      tmux.start();
      client = new TmuxClient({ socket: tmux.socket, mode });
    });
    after(() => {
      client?.close();
      tmux.kill();
    });

    it('never reaches tmux, and the server and its other sessions live on', async () => {
      for (let round = 0; round < 5; round++) {
        const pane = tmux.newPane('exec sleep 30');
        tmux.run(['set-option', '-w', '-t', pane, 'remain-on-exit', 'on']);
        process.kill(tmux.panePid(pane), 'SIGKILL');
        for (let i = 0; i < 50 && tmux.run(['display-message', '-p', '-t', pane, '#{pane_dead}']) !== '1'; i++) {
          await new Promise((r) => setTimeout(r, 20));
        }
        assert.equal(tmux.run(['display-message', '-p', '-t', pane, '#{pane_dead}']), '1');
        await client.setBuffer(`bmad-test-${round}`, 'hello');
        await client.pasteBuffer(`bmad-test-${round}`, pane);
        assert.ok(tmux.sessions().includes('bystander'), 'the server still runs');
        // The answer to the next command is its own (in control mode if-shell answers twice).
        assert.equal(await client.command(['display-message', '-p', `after ${round}`]), `after ${round}`);
        assert.equal(tmux.tryRun(['show-buffer', '-b', `bmad-test-${round}`]), undefined, 'the buffer was dropped, not left behind');
        tmux.run(['kill-window', '-t', pane]);
      }
    });

    it('a live pane gets the paste, and answers stay in step', async () => {
      const pane = tmux.newPane('exec cat');
      await client.setBuffer('bmad-test-live', 'live paste');
      await client.pasteBuffer('bmad-test-live', pane);
      assert.equal(await client.command(['display-message', '-p', '-t', pane, '#{pane_id}']), pane);
      for (let i = 0; i < 50 && !tmux.capture(pane).includes('live paste'); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(tmux.capture(pane).includes('live paste'));
      tmux.run(['kill-window', '-t', pane]);
    });

    it('refuses anything but a pane id and a plain buffer name', async () => {
      await assert.rejects(client.pasteBuffer('x; kill-server', '%1'), /Refusing to paste/);
      await assert.rejects(client.pasteBuffer('x', 'bystander:0'), /expected a pane id/);
    });
  });
}
