import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cli, waitFor } from '../helpers/bus.js';
import { TmuxBed, shq } from '../helpers/tmux.js';

interface Status {
  router: { accepted: number };
  agents: Array<{ name: string; undelivered: number; waiting?: string }>;
}

// Defect 5 of issue 9: an orchestrator pane that never confirms a paste got a
// delivery_unconfirmed event about it typed into the same pane, which failed the
// same way and made another event: 15 events in 20 s from one message.
describe('delivery_unconfirmed does not feed itself', () => {
  const bed = new TmuxBed();
  const { tmux, root, base } = bed;
  const status = () => bed.status<Status>();
  const events = async () =>
    (await bed.journal<{ event: string; agent: string; id: string }>()).filter((e) => e.type === 'event');

  before(async () => {
    bed.start();
    assert.equal((await cli(['init', '--dir', root])).code, 0);
    // A pane that never confirms: readline keeps every paste in its input line, and the
    // agent's "submit key" only types a space (an input box where the key does not submit).
    const pane = tmux.newPane(`exec bash --norc --noprofile -c ${shq('read -r -e line; sleep 600')}`, { INPUTRC: '/dev/null' });
    const added = await cli(['agents', 'add', 'orchestrator', '--tmux', pane, '--deliver', 'tmux', '--submit', 'Space', '--submit-delay', '5', '--command', 'bash', ...base]);
    assert.equal(added.code, 0, added.stderr);
    await bed.router();
  });
  after(() => bed.close());

  it('one message gives exactly one event; the event itself unconfirmed gives none, and status counts the repeats', async () => {
    const sent = await cli(['send', 'orchestrator', 'hello orchestrator', '--from', 'user', ...base]);
    assert.equal(sent.code, 0, sent.stderr);
    // The event is typed into the same pane and stays unconfirmed too: status counts it.
    const waiting = await waitFor(async () => {
      const w = (await status()).agents.find((a) => a.name === 'orchestrator')?.waiting;
      return w && /\(2 unconfirmed since /.test(w) ? w : undefined;
    }, 30_000, 'the event delivered unconfirmed, counted in status');
    const all = await events();
    assert.equal(all.length, 1, `exactly one event, got ${JSON.stringify(all)}`);
    assert.equal(all[0]!.body.event, 'delivery_unconfirmed');
    assert.match(waiting, new RegExp(`^unconfirmed: ${all[0]!.id} not seen submitted after 3 presses of Space`));
    // Nothing left to deliver, so nothing can grow: the message and its one event are all the router accepted.
    const s = await status();
    assert.equal(s.agents.find((a) => a.name === 'orchestrator')?.undelivered, 0);
    assert.equal(s.router.accepted, 2);
  });
});
