import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Envelope } from '../../src/bus/envelope.js';
import type { MessageTrace } from '../../src/client/trace.js';
import { BIN, REPO, cli, waitFor } from '../helpers/bus.js';
import { TmuxBed, shq } from '../helpers/tmux.js';

const FAKE_CLI = path.join(REPO, 'test', 'agents', 'fixtures', 'fake-cli.mjs');

describe('trace: each message’s way into an agent, and receipts from its hook', () => {
  const bed = new TmuxBed();
  before(async () => {
    bed.start();
    assert.equal((await cli(['init', ...bed.base])).code, 0);
    await bed.router({ BMAD_BUS_HOLD: '1s' });
  });
  after(() => bed.close());

  /** A fake AI CLI (gemini-like screen) registered as `name`; with `hook`, it runs `bmad-bus hook` at each submission as Gemini CLI would. */
  const agent = async (name: string, env: Record<string, string> = {}, options: { hook?: boolean } = {}) => {
    const log = path.join(bed.dir, `${name}.turns`);
    fs.writeFileSync(log, '');
    const command = `node ${shq(FAKE_CLI)}`;
    const hook: Record<string, string> = options.hook ? { FAKE_HOOK: `${shq(BIN)} hook BeforeAgent --cli gemini --dir ${shq(bed.root)}`, BMAD_AGENT: name } : {};
    const pane = bed.tmux.newPane(`exec ${command}`, { FAKE_LOG: log, FAKE_KEYS: path.join(bed.dir, `${name}.keys`), ...hook, ...env });
    await waitFor(() => /Type your message/.test(bed.tmux.run(['capture-pane', '-p', '-t', pane])), 10_000, `${name} drawn`);
    const added = await cli(['agents', 'add', name, '--tmux', pane, '--deliver', 'tmux', '--command', command, '--profile', 'gemini', ...bed.base]);
    assert.equal(added.code, 0, added.stderr);
    return { turns: () => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) };
  };
  const send = (to: string, body: string): Promise<Envelope> => bed.send(to, body);
  const trace = async (id: string): Promise<MessageTrace> => {
    const result = await cli(['trace', id, '--json', ...bed.base]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as MessageTrace;
  };
  const stagesOf = (t: MessageTrace, agent: string) => t.recipients.find((r) => r.agent === agent)!.steps.map((s) => s.stage);

  it('with the hook: typed → submitted → received, in time order, for each of a burst', async () => {
    const a = await agent('hooked', {}, { hook: true });
    const sent = [await send('hooked', 'first of three'), await send('hooked', 'second of three'), await send('hooked', 'third of three')];
    await waitFor(() => a.turns().length === 3, 30_000, 'three turns');
    for (const e of sent) {
      const t = await waitFor(async () => {
        const got = await trace(e.id);
        return got.recipients[0]?.state === 'received' ? got : undefined;
      }, 10_000, `${e.id} received`);
      // The hook may report the prompt before the screen shows it submitted: both orders are right.
      assert.deepEqual([...stagesOf(t, 'hooked')].sort(), ['received', 'submitted', 'typed']);
      const at = (stage: string) => Date.parse(t.recipients[0]!.steps.find((s) => s.stage === stage)!.at);
      assert.ok(Date.parse(t.queued.at) <= at('typed') && at('typed') <= at('submitted') && at('typed') <= at('received'), JSON.stringify(t));
      assert.ok((t.recipients[0]!.steps.find((s) => s.stage === 'submitted')!.presses ?? 0) >= 1, 'presses counted');
      assert.equal(t.recipients[0]!.steps.find((s) => s.stage === 'received')!.detail, 'gemini hook');
    }
    const human = await cli(['trace', sent[0]!.id, ...bed.base]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /queued .*journal offset/);
    assert.match(human.stdout, /hooked \(tmux\): received/);
    assert.match(human.stdout, /submitted .*\+\d+m?s  \d press/);
  });

  it('without a hook the trace ends at submitted: never received by guesswork', async () => {
    const a = await agent('plain');
    const e = await send('plain', 'no hook here');
    await waitFor(() => a.turns().length === 1, 30_000, 'the turn');
    const t = await waitFor(async () => {
      const got = await trace(e.id);
      return got.recipients[0]?.state === 'submitted' ? got : undefined;
    }, 10_000, 'submitted');
    await new Promise((r) => setTimeout(r, 800));
    assert.deepEqual(stagesOf(await trace(e.id), 'plain'), ['typed', 'submitted']);
    assert.equal(t.recipients[0]!.via, 'tmux');
  });

  it('a paste that went nowhere is typed again (retry), and the message arrives once', async () => {
    const a = await agent('lossy', { FAKE_DROP_PASTES: '1' }, { hook: true });
    const e = await send('lossy', 'the paste of this one is lost once');
    await waitFor(() => a.turns().length === 1, 30_000, 'the turn');
    const t = await waitFor(async () => {
      const got = await trace(e.id);
      return got.recipients[0]?.state === 'received' ? got : undefined;
    }, 10_000, 'received');
    assert.deepEqual(stagesOf(t, 'lossy').slice(0, 3), ['typed', 'retry', 'typed']);
    assert.deepEqual([...stagesOf(t, 'lossy').slice(3)].sort(), ['received', 'submitted']);
    assert.match(t.recipients[0]!.steps[1]!.detail ?? '', /not in the input box/);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(a.turns().length, 1, 'exactly one turn');
  });

  it('a screen that never shows the submission, with the hook: the receipt counts, one turn, no unconfirmed event', async () => {
    const a = await agent('blind', { FAKE_HIDE_TRANSCRIPT: '1' }, { hook: true });
    const e = await send('blind', 'the screen will not show this');
    await waitFor(() => a.turns().length === 1, 30_000, 'the turn');
    const t = await waitFor(async () => {
      const got = await trace(e.id);
      return got.recipients[0]?.state === 'received' ? got : undefined;
    }, 40_000, 'received');
    assert.ok(!stagesOf(t, 'blind').includes('retry') && !stagesOf(t, 'blind').includes('unconfirmed'), JSON.stringify(stagesOf(t, 'blind')));
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(a.turns().length, 1, 'not typed again');
    const events = (await bed.journal<{ event: string; agent: string }>()).filter((m) => m.type === 'event' && m.body.agent === 'blind');
    assert.deepEqual(events, []);
  });

  it('a paste lost every time ends unconfirmed after the bounded retries, with its event', async () => {
    await agent('sink', { FAKE_DROP_PASTES: '99' });
    const e = await send('sink', 'this never lands');
    const t = await waitFor(async () => {
      const got = await trace(e.id);
      return got.recipients[0]?.state === 'unconfirmed' ? got : undefined;
    }, 40_000, 'unconfirmed');
    assert.deepEqual(stagesOf(t, 'sink'), ['typed', 'retry', 'typed', 'retry', 'typed', 'unconfirmed']);
    const events = (await bed.journal<{ event: string; agent: string; id: string }>()).filter((m) => m.type === 'event' && m.body.event === 'delivery_unconfirmed' && m.body.agent === 'sink');
    assert.deepEqual(events.map((m) => m.body.id), [e.id]);
  });

  it('an inbox recipient, an unknown recipient and an unknown id', async () => {
    assert.equal((await cli(['agents', 'add', 'boxed', ...bed.base])).code, 0);
    const e = await send('boxed', 'to the inbox');
    const t = await trace(e.id);
    assert.equal(t.recipients[0]!.via, 'inbox');
    assert.ok(['pending', 'delivered'].includes(t.recipients[0]!.state));
    const lost = await send('nobody-here', 'dead letter');
    const dead = await waitFor(async () => (await trace(lost.id)).dead_letter, 20_000, 'the dead letter');
    assert.equal(dead.reason, 'unknown_recipient');
    const missing = await cli(['trace', 'no-such-id', ...bed.base]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /No message with id `no-such-id`/);
    assert.equal(missing.stderr.trim().split('\n').length, 1);
  });
});
