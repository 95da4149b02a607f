import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli, waitFor } from '../helpers/bus.js';
import { TmuxBed, shq } from '../helpers/tmux.js';

interface Status {
  agents: Array<{ name: string; undelivered: number; waiting?: string }>;
}

// Defect 2 of issue 9, delivery side: after `kill-server` tmux hands out %0 and %1 again,
// to whatever session comes next; the router must not type into those panes.
describe('the router types only into panes tagged for the agent, on the server it was registered on', () => {
  const bed = new TmuxBed();
  const { tmux, root, base } = bed;
  const file = (name: string) => path.join(bed.dir, name);
  const read = (name: string) => (fs.existsSync(file(name)) ? fs.readFileSync(file(name), 'utf8') : '');
  const status = () => bed.status<Status>();
  const waitingOf = async (name: string) => (await status()).agents.find((a) => a.name === name)?.waiting;
  const events = async () =>
    (await bed.journal<{ event: string; agent: string; pane: string }>()).filter((e) => e.type === 'event');

  before(async () => {
    assert.equal((await cli(['init', '--dir', root])).code, 0);
    // A fresh server: the agent's pane is %0.
    tmux.run(['-f', '/dev/null', 'new-session', '-d', '-s', 'team', '-x', '200', '-y', '50', `exec cat > ${shq(file('agent.out'))}`]);
    assert.equal(tmux.run(['display-message', '-p', '-t', 'team', '#{pane_id}']), '%0');
    const added = await cli(['agents', 'add', 'a-1', '--tmux', '%0', '--deliver', 'tmux', '--submit-delay', '5', ...base]);
    assert.equal(added.code, 0, added.stderr);
    await bed.router();
  });
  after(() => bed.close());

  it('registering tags the pane and records the server instance', async () => {
    assert.equal(tmux.run(['display-message', '-p', '-t', '%0', '#{@bmad_agent}']), 'a-1');
    const [agent] = JSON.parse((await cli(['agents', 'list', '--json', ...base])).stdout) as Array<{ tmux_server?: string }>;
    assert.equal(agent!.tmux_server, tmux.run(['display-message', '-p', '#{pid}:#{start_time}']));
    assert.equal((await cli(['send', 'a-1', 'before the crash', ...base])).code, 0);
    await waitFor(() => read('agent.out').includes('before the crash'), 10_000, 'the first message in the agent pane');
  });

  it('after kill-server, nothing is typed into the unrelated session that got %0 and %1', async () => {
    tmux.run(['kill-server']);
    // At once, as a user would: an unrelated session whose panes get the same ids (one tagged by chance for a-1).
    // A client that reaches the old server while it is still exiting gets "server exited unexpectedly": try again.
    for (let attempt = 1; ; attempt++) {
      try {
        tmux.run(['-f', '/dev/null', 'new-session', '-d', '-s', 'other', '-x', '200', '-y', '50', `exec cat > ${shq(file('other0.out'))}`]);
        break;
      } catch (error) {
        if (attempt >= 20 || !String(error).includes('server exited unexpectedly')) throw error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const second = tmux.run(['new-window', '-d', '-P', '-F', '#{pane_id}', '-t', 'other:', `exec cat > ${shq(file('other1.out'))}`]);
    assert.deepEqual([tmux.run(['display-message', '-p', '-t', 'other', '#{pane_id}']), second], ['%0', '%1']);
    assert.equal((await cli(['send', 'a-1', 'after the crash', ...base])).code, 0);
    const waiting = await waitFor(async () => {
      const w = await waitingOf('a-1');
      return w?.includes('not tagged for a-1') ? w : undefined;
    }, 15_000, 'the refusal in status');
    assert.equal(waiting, 'pane %0 is not tagged for a-1 (@bmad_agent unset)');

    // The same pane id, tagged for a-1 but on another server instance than the registry's: still refused.
    tmux.run(['set-option', '-p', '-t', '%0', '@bmad_agent', 'a-1']);
    await waitFor(async () => (await waitingOf('a-1'))?.includes('is on tmux server'), 15_000, 'the server-instance refusal in status');
    for (const pane of ['%0', '%1']) assert.ok(!tmux.capture(pane).includes('after the crash'), `nothing typed into ${pane}`);
    assert.equal(read('other0.out') + read('other1.out'), '', 'nothing submitted into the unrelated panes');
    const refused = (await events()).filter((e) => e.body.event === 'delivery_refused');
    assert.deepEqual(refused.map((e) => [e.body.agent, e.body.pane]), [['a-1', '%0'], ['a-1', '%0']], 'one event per refusal (untagged, then another server)');
    // At least the new message waits in the journal (the one before may be due again: at-least-once after a pane loss).
    assert.ok(((await status()).agents.find((a) => a.name === 'a-1')?.undelivered ?? 0) >= 1, 'the message waits in the journal');
  });

  it('once the agent is registered on the new server, the message arrives there', async () => {
    // Same pane id, same tag: only the recorded server instance changes, and the router must notice.
    const added = await cli(['agents', 'add', 'a-1', '--tmux', '%0', '--deliver', 'tmux', '--submit-delay', '5', ...base]);
    assert.equal(added.code, 0, added.stderr);
    await waitFor(() => read('other0.out').includes('after the crash'), 15_000, 'the message, once %0 is registered as a-1 on this server');
    assert.equal(read('other1.out'), '');
  });
});
