import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Envelope } from '../../src/bus/envelope.js';
import { renderMessage } from '../../src/tmux/render.js';
import { REPO, cli, waitFor } from '../helpers/bus.js';
import { TmuxBed, shq } from '../helpers/tmux.js';

const FAKE_CLI = path.join(REPO, 'test', 'agents', 'fixtures', 'fake-cli.mjs');

interface Status {
  agents: Array<{ name: string; undelivered: number; waiting?: string; state?: string; state_source?: string; profile?: string }>;
}

/** One fake AI CLI in a pane of the bed's tmux server, registered as `name` with `profile`; returns what it received. */
async function fakeAgent(bed: TmuxBed, name: string, env: Record<string, string>, extra: string[] = []) {
  const log = path.join(bed.dir, `${name}.turns`);
  const keys = path.join(bed.dir, `${name}.keys`);
  fs.writeFileSync(log, '');
  fs.writeFileSync(keys, '');
  const command = `node ${shq(FAKE_CLI)}`;
  const pane = bed.tmux.newPane(`exec ${command}`, { FAKE_LOG: log, FAKE_KEYS: keys, ...env });
  await waitFor(() => /Type your message/.test(bed.tmux.run(['capture-pane', '-p', '-t', pane])), 10_000, `${name} drawn`);
  const added = await cli(['agents', 'add', name, '--tmux', pane, '--deliver', 'tmux', '--command', command, '--profile', 'gemini', ...extra, ...bed.base]);
  assert.equal(added.code, 0, added.stderr);
  return {
    pane,
    turns: () => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { turn: string }).turn),
    keys: () => fs.readFileSync(keys, 'utf8'),
  };
}

const rendered = (e: Envelope) => renderMessage(e, undefined, 'keep');

describe('delivery into an AI CLI by its profile (a fake CLI with the faults the real ones have)', () => {
  const bed = new TmuxBed();
  before(async () => {
    bed.start();
    assert.equal((await cli(['init', ...bed.base])).code, 0);
    await bed.router();
  });
  after(() => bed.close());

  const send = (to: string, body: string): Promise<Envelope> => bed.send(to, body);

  it('a burst, multi-line, escape payloads and 3,000 characters: each its own turn, intact, in order', async () => {
    const agent = await fakeAgent(bed, 'gem-1', {});
    const bodies = ['one', 'two', 'three', 'four', 'first line\nsecond line\nthird line', 'close the paste: \x1b[201~ and $(touch /tmp/bmad-pwned) `id`', 'x'.repeat(3000)];
    const sent: Envelope[] = [];
    for (const body of bodies) sent.push(await send('gem-1', body));
    await waitFor(() => agent.turns().length >= bodies.length, 60_000, 'every message a turn');
    assert.deepEqual(agent.turns(), sent.map(rendered));
    assert.ok(!fs.existsSync('/tmp/bmad-pwned'));
    // The fake CLI stays busy for 300 ms after the last turn (FAKE_BUSY_MS): a quick `status` can see that.
    const me = await waitFor(async () => {
      const agent = (await bed.status<Status>()).agents.find((a) => a.name === 'gem-1')!;
      return agent.state === 'idle' ? agent : undefined;
    }, 10_000, 'gem-1 idle after the burst');
    assert.equal(me.undelivered, 0);
    assert.equal(me.waiting, undefined);
    assert.deepEqual([me.state, me.state_source], ['idle', 'screen']);
  });

  it('a permission question on screen: nothing is typed into it; the message follows once the human answers', async () => {
    const agent = await fakeAgent(bed, 'gem-2', { FAKE_PERMISSION: '1' });
    const first = await send('gem-2', 'please list the files');
    await waitFor(() => /Allow execution/.test(bed.tmux.run(['capture-pane', '-p', '-t', agent.pane])), 10_000, 'the question on screen');
    const second = await send('gem-2', 'and then the tests');
    const waiting = await waitFor(async () => (await bed.status<Status>()).agents.find((a) => a.name === 'gem-2')?.waiting, 10_000, 'status saying why it waits');
    assert.match(waiting, /asking its human/);
    // No hooks here: the state is read from the screen, by the profile.
    const asking = (await bed.status<Status>()).agents.find((a) => a.name === 'gem-2')!;
    assert.deepEqual([asking.state, asking.state_source, asking.profile], ['waiting_input', 'screen', 'gemini']);
    const listed = JSON.parse((await cli(['agents', '--json', ...bed.base])).stdout) as Array<{ name: string; state?: string }>;
    assert.equal(listed.find((a) => a.name === 'gem-2')?.state, 'waiting_input');
    await new Promise((r) => setTimeout(r, 1500)); // several retries of the gate: still nothing typed
    assert.equal(agent.keys(), '', 'not a key reached the question');
    assert.deepEqual(agent.turns(), [rendered(first)]);
    bed.tmux.run(['send-keys', '-t', agent.pane, '1']);
    await waitFor(() => agent.turns().length === 2, 15_000, 'the second message after the answer');
    assert.deepEqual(agent.turns(), [rendered(first), rendered(second)]);
  });

  it('a submission that never shows is reported unconfirmed (an event), never counted as received', async () => {
    await fakeAgent(bed, 'gem-3', { FAKE_NEVER_SUBMIT: '1' });
    const sent = await send('gem-3', 'this will not submit');
    const event = await waitFor(async () => (await bed.journal<{ event: string; agent: string; id: string }>())
      .find((e) => e.type === 'event' && e.body.event === 'delivery_unconfirmed' && e.body.agent === 'gem-3'), 30_000, 'the delivery_unconfirmed event');
    assert.equal(event.body.id, sent.id);
    const waiting = (await bed.status<Status>()).agents.find((a) => a.name === 'gem-3')?.waiting ?? '';
    assert.match(waiting, /^unconfirmed: /);
  });
});
