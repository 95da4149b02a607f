import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Envelope } from '../../src/bus/envelope.js';
import { nudgeText } from '../../src/agents/hook-sink.js';
import { BIN, REPO, cli, waitFor } from '../helpers/bus.js';
import { TmuxBed, shq } from '../helpers/tmux.js';

const FAKE_CLI = path.join(REPO, 'test', 'agents', 'fixtures', 'fake-cli.mjs');

interface Turn {
  turn: string;
  context?: string;
  continued?: boolean;
}
interface Status {
  agents: Array<{ name: string; undelivered: number; waiting?: string }>;
}

/** The ids a handoff's text holds, in order. */
const idsIn = (text: string | undefined): string[] => [...(text ?? '').matchAll(/id (\S+) ·/g)].map((m) => m[1]!);

describe('delivery mode hooks: a fake CLI that answers its hooks as Gemini CLI does, a real router', () => {
  const bed = new TmuxBed();
  before(async () => {
    bed.start();
    assert.equal((await cli(['init', ...bed.base])).code, 0);
    await bed.router();
  });
  after(() => bed.close());

  const fakeAgent = async (name: string, env: Record<string, string> = {}, profile = 'gemini') => {
    const log = path.join(bed.dir, `${name}.turns`);
    fs.writeFileSync(log, '');
    const command = `node ${shq(FAKE_CLI)}`;
    const hook = { FAKE_HOOK: `${shq(BIN)} hook --cli gemini --dir ${shq(bed.root)} BeforeAgent`, BMAD_AGENT: name };
    const pane = bed.tmux.newPane(`exec ${command}`, { FAKE_LOG: log, FAKE_KEYS: path.join(bed.dir, `${name}.keys`), ...hook, ...env });
    await waitFor(() => /Type your message/.test(bed.tmux.run(['capture-pane', '-p', '-t', pane])), 10_000, `${name} drawn`);
    const added = await cli(['agents', 'add', name, '--tmux', pane, '--deliver', 'hooks', '--command', command, '--profile', profile, ...bed.base]);
    assert.equal(added.code, 0, added.stderr);
    return {
      pane,
      turns: (): Turn[] => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Turn),
      screen: () => bed.tmux.run(['capture-pane', '-p', '-J', '-S', '-200', '-t', pane]),
    };
  };
  const send = (to: string, body: string): Promise<Envelope> => bed.send(to, body);
  const undelivered = async (name: string) => (await bed.status<Status>()).agents.find((a) => a.name === name);
  /** Every message id handed over, in order, over all turns: as context of a typed turn, or as a continuation. */
  const handed = (turns: Turn[]) => turns.flatMap((t) => (t.continued ? idsIn(t.turn) : idsIn(t.context)));

  it('an idle agent gets one short nudge typed; the bodies, long and multi-line, come only through its hook', async () => {
    const agent = await fakeAgent('hk-1');
    const bodies = ['first', 'two\nlines\nhere', `long ${'z'.repeat(3000)}`];
    const sent: Envelope[] = [];
    for (const body of bodies) sent.push(await send('hk-1', body));
    await waitFor(() => handed(agent.turns()).length >= sent.length, 30_000, 'every message handed over');
    await waitFor(async () => (await undelivered('hk-1'))?.undelivered === 0, 15_000, 'the router counts them delivered');
    const turns = agent.turns();
    assert.deepEqual(handed(turns), sent.map((e) => e.id), 'each once, in order');
    const typed = turns.filter((t) => !t.continued).map((t) => t.turn);
    assert.ok(typed.length >= 1 && typed.every((t) => /^You have \d+ new bus messages?\.$/.test(t)), `only nudges were typed: ${JSON.stringify(typed)}`);
    // The pane never showed a body: nothing of a message was typed.
    const screen = agent.screen();
    assert.ok(!/two|zzzz|first/.test(screen), screen);
    // The first was nudged for; those sent after the nudge went with its turn.
    const trace = JSON.parse((await cli(['trace', sent[0]!.id, '--json', ...bed.base])).stdout) as { recipients: Array<{ via: string; state: string; steps: Array<{ stage: string }> }> };
    assert.deepEqual(trace.recipients.map((r) => [r.via, r.state]), [['hooks', 'received']]);
    assert.deepEqual([...new Set(trace.recipients[0]!.steps.map((s) => s.stage))], ['nudged', 'handed', 'received']);
  });

  it('messages sent while the agent is busy arrive at its turn end, by the hook, with no nudge typed', async () => {
    const agent = await fakeAgent('hk-2', { FAKE_BUSY_MS: '4000' });
    const first = await send('hk-2', 'start working');
    await waitFor(() => agent.turns().length >= 1, 15_000, 'the nudge turn');
    const later = [await send('hk-2', 'while busy 1'), await send('hk-2', 'while busy 2')];
    await waitFor(() => handed(agent.turns()).length >= 3, 30_000, 'the two handed over at the turn end');
    await waitFor(async () => (await undelivered('hk-2'))?.undelivered === 0, 15_000, 'delivered');
    const turns = agent.turns();
    assert.deepEqual(turns.map((t) => Boolean(t.continued)), [false, true], 'the nudge, then the turn the hook continued');
    assert.equal(turns[0]!.turn, nudgeText(1));
    assert.deepEqual(idsIn(turns[0]!.context), [first.id]);
    assert.deepEqual(idsIn(turns[1]!.turn), later.map((e) => e.id));
  });

  it('a CLI whose hooks cannot hand messages over is not nudged, and status says why', async () => {
    await fakeAgent('hk-3', {}, 'codex');
    await send('hk-3', 'never typed');
    const waiting = await waitFor(async () => (await undelivered('hk-3'))?.waiting, 10_000, 'the reason');
    assert.match(waiting, /profile codex has no hooks that hand messages over/);
    assert.equal((await undelivered('hk-3'))?.undelivered, 1);
  });
});
