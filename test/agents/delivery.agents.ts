// bmad-bus delivery into the real agent CLIs (npm run test:agents): each installed CLI runs
// offline against the fake model in a pane; it is registered as an agent with its built-in
// profile and the router types the 13 messages into it — a burst of 10 one-liners,
// one multi-line, one holding ESC[201~ and $(touch …), one of 3,000 characters. The oracle is
// the user turns the fake model received: each message its own turn, intact and in order.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Envelope } from '../../src/bus/envelope.js';
import { cli } from '../helpers/bus.js';
import { CLIS, findCli, type CliName } from './agents-cache.js';
import { caseTable } from './case-table.js';
import { HOOKED, norm, withAgent as withDeliveredAgent, type Run } from './agent-run.js';
import { AgentPane, sleep } from './harness.js';

/** The CLI as an agent under delivery mode `tmux`, typed into by its profile. */
const withAgent = (name: CliName, addArgs: string[], body: (run: Run) => Promise<void>) => withDeliveredAgent(name, { deliver: 'tmux', addArgs }, body);

const table = caseTable(['cli', 'version', 'case', 'own turns, intact, in order', 'received', 'unconfirmed events', 'wall s']);
/** One measured case; the marker a message's payload would create is removed after each. */
const measured = (name: CliName, label: string, version: string, run: (row: string[]) => Promise<void>) =>
  table(name, label, version, async (row) => {
    try {
      await run(row);
    } finally {
      fs.rmSync(MARK, { force: true });
    }
  });

const MARK = path.join(os.tmpdir(), `bmad-agents-pwned-${process.pid}`);
const BODIES = [
  ...Array.from({ length: 10 }, (_, i) => `burst message ${i + 1} of 10`),
  'a multi-line message:\nline two\nline three',
  `escape payload: \x1b[201~ then $(touch ${MARK}) and \`touch ${MARK}\``,
  `long ${'0123456789'.repeat(300)}`.slice(0, 3000),
];

/** Where hooks are installed, every message ends `received` (its receipt came from the CLI's own hook); elsewhere `submitted`. */
async function checkReceipts(name: CliName, run: Run, sent: Envelope[]): Promise<string> {
  const want = HOOKED.includes(name) ? 'received' : 'submitted';
  const deadline = Date.now() + 30_000;
  let states: string[] = [];
  for (;;) {
    states = await Promise.all(sent.map(async (e) => (await run.trace(e.id)).recipients[0]?.state ?? 'none'));
    if (states.every((s) => s === want) || Date.now() > deadline) break;
    await sleep(500);
  }
  const receipts = path.join(run.root, 'state', 'receipts', `${name}-1.ndjson`);
  const heard = fs.existsSync(receipts) ? fs.readFileSync(receipts, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { prompt: string }).prompt.slice(0, 80)) : [];
  assert.deepEqual(states, sent.map(() => want), `${name}: the trace of each message; the prompts its hook reported: ${JSON.stringify(heard)}`);
  return `${states.filter((s) => s === 'received').length}/${sent.length}`;
}

/**
 * The oracle of a case: waits for the last message's user turn at the model (then a while more,
 * for a duplicate or a stray turn to show), fills the row, and checks that each message arrived
 * as its own turn, intact and in order, that no `delivery_unconfirmed` event went out, and that
 * each has its receipt where the CLI has hooks.
 */
async function expectOwnTurns(name: CliName, run: Run, sent: Envelope[], row: string[], withinMs: number): Promise<void> {
  const expected = run.expected(sent);
  const deadline = Date.now() + withinMs;
  while (!run.model.userTurns.map(norm).includes(expected.at(-1)!) && Date.now() < deadline) await sleep(250);
  await sleep(4000);
  const turns = run.model.userTurns.map(norm);
  row[3] = `${expected.filter((t, i) => turns[i] === t).length}/${expected.length}`;
  const unconfirmed = (await run.unconfirmed()).length;
  row[5] = String(unconfirmed);
  assert.deepEqual(turns, expected, `${name}: the user turns the model received; waiting: ${await run.waiting()}; screen:\n${run.pane.screen()}`);
  row[4] = await checkReceipts(name, run, sent);
  assert.equal(unconfirmed, 0, `${name}: no delivery_unconfirmed event`);
}

/**
 * How a person answers each CLI's questions, yes to each (the screens in
 * screens/<cli>-<version>/permission.txt and modal.txt): a pattern of the question, the keys.
 */
const ANSWERS: Record<CliName, Array<[RegExp, string[]]>> = {
  claude: [[/Enter to stay in auto mode/, ['Enter']], [/Do you want to proceed\?/, ['Down', 'Enter']]], // `❯ No` is chosen first
  codex: [[/Would you like to run the following command\?/, ['y']]],
  gemini: [[/Allow execution of/, ['Enter']]],
  qwen: [[/Allow execution of/, ['Enter']]],
  opencode: [[/Permission required/, ['Enter']]],
};
const asking = (name: CliName, screen: string) => ANSWERS[name].some(([question]) => question.test(screen));

/** Answers the CLI's questions as they come, until none is on screen. */
async function answerAll(name: CliName, pane: AgentPane): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const screen = pane.screen();
    const answer = ANSWERS[name].find(([question]) => question.test(screen));
    if (!answer) return;
    for (const key of answer[1]) {
      pane.tmux(['send-keys', '-t', 'agent:0.0', key]);
      await sleep(300);
    }
    await sleep(1500);
  }
  throw new Error(`${name}: still asking after a minute of answers:\n${pane.screen()}`);
}

// BMAD_AGENTS_ONLY=claude,codex runs a few.
const only = process.env.BMAD_AGENTS_ONLY?.split(',');

for (const name of CLIS.filter((c) => !only || only.includes(c))) {
  const found = findCli(name);
  const skip = typeof found === 'string' ? found : false;
  const version = typeof found === 'string' ? '-' : found.version;

  test(`${name}: 13 messages through the router, each its own user turn, intact, in order`, { skip, timeout: 600_000 }, measured(name, '13 messages', version, async (row) => {
    await withAgent(name, [], async (run) => {
      const sent: Envelope[] = [];
      for (const body of BODIES) sent.push(await run.send(body));
      await expectOwnTurns(name, run, sent, row, 300_000);
      assert.ok(!fs.existsSync(MARK), 'nothing in a message ran as a command');
    });
  }));

  test(`${name}: a burst sent while the model is busy (3 s a turn): one turn each, in order`, { skip, timeout: 600_000 }, measured(name, 'busy model', version, async (row) => {
    await withAgent(name, [], async (run) => {
      run.model.mode = { kind: 'slow', seconds: 3 };
      const sent = [await run.send('the first, which keeps the model busy')];
      await run.model.waitForTurns(1, 60_000);
      for (let i = 1; i <= 4; i++) sent.push(await run.send(`busy burst ${i} of 4`));
      await expectOwnTurns(name, run, sent, row, 180_000);
    });
  }));

  test(`${name}: a message sent while a permission prompt is up waits, leaves it unanswered, and follows the answer`, { skip, timeout: 600_000 }, measured(name, 'permission prompt', version, async (row) => {
    await withAgent(name, [], async (run) => {
      run.model.mode = { kind: 'tool' };
      const first = await run.send('Please create the marker file.');
      await run.pane.waitFor((s) => asking(name, s), 90_000, 'the permission prompt');
      run.model.mode = { kind: 'fast' };
      const second = await run.send('and this one must wait for the answer');
      await sleep(6000); // a dozen looks of the gate
      assert.ok(asking(name, run.pane.screen()), `${name}: the prompt is still up, unanswered:\n${run.pane.screen()}`);
      assert.equal(run.model.userTurns.map(norm).filter((t) => t.includes('must wait for the answer')).length, 0, 'nothing typed into the prompt reached the model');
      const waiting = JSON.parse((await cli(['status', '--json', ...run.base])).stdout) as { agents: Array<{ name: string; waiting?: string }> };
      assert.match(waiting.agents.find((a) => a.name === `${name}-1`)?.waiting ?? '', /asking its human/);
      await answerAll(name, run.pane);
      await expectOwnTurns(name, run, [first, second], row, 120_000);
    });
  }));

  test(`${name}: a message sent while the model answers 429 arrives once, after it recovers`, { skip, timeout: 600_000 }, measured(name, '429', version, async (row) => {
    await withAgent(name, [], async (run) => {
      run.model.mode = { kind: 'rate-limit' };
      const first = await run.send('the first, answered 429');
      const deadline429 = Date.now() + 60_000;
      while (!run.model.requests.some((r) => r.status === 429) && Date.now() < deadline429) await sleep(200);
      assert.ok(run.model.requests.some((r) => r.status === 429), 'the CLI met a 429');
      const second = await run.send('the second, sent while rate-limited');
      await sleep(5000);
      run.model.mode = { kind: 'fast' };
      await expectOwnTurns(name, run, [first, second], row, 240_000);
    });
  }));

  // Space types a space into the input box: it never submits.
  test(`${name}: a wrong submit key (an override) ends in delivery_unconfirmed, never silence`, { skip, timeout: 300_000 }, measured(name, 'wrong submit key', version, async (row) => {
    await withAgent(name, ['--submit', 'Space'], async (run) => {
      const sent = await run.send('this must not pass for delivered');
      const deadline = Date.now() + 60_000;
      let events = await run.unconfirmed();
      while (events.length === 0 && Date.now() < deadline) {
        await sleep(500);
        events = await run.unconfirmed();
      }
      row[5] = String(events.length);
      assert.equal(events.length, 1, `${name}: one delivery_unconfirmed event; screen:\n${run.pane.screen()}`);
      assert.equal((events[0]!.body as { id: string }).id, sent.id);
      assert.deepEqual(run.model.userTurns, [], 'the model got no turn');
      row[3] = '0/0 (as it must)';
      assert.equal((await run.trace(sent.id)).recipients[0]?.state, 'unconfirmed');
    });
  }));
}
