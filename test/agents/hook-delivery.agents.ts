// Delivery mode `hooks` in the real agent CLIs (npm run test:agents): the CLI runs offline
// against the fake model with bmad-bus's hooks installed, registered with `--deliver hooks`, a
// router serving it. Nothing of a message is ever typed: an idle agent gets one fixed nudge, and
// the bodies go in through the CLI's own hooks (a blocked stop, or context for the prompt).
// The oracles: the last request the model received (which holds the whole conversation) holds
// each message exactly once, in order; the prompts the CLI reported submitted (its own hook's
// receipts) are nudges only; and the input box, sampled all along, never held a message's text.
// BMAD_AGENTS_ONLY=claude runs one.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ProfileSet } from '../../src/agents/profiles.js';
import { readScreen } from '../../src/agents/screen-reader.js';
import type { Envelope } from '../../src/bus/envelope.js';
import { cli } from '../helpers/bus.js';
import { withAgent, type Run } from './agent-run.js';
import { findCli, type CliName } from './agents-cache.js';
import { caseTable } from './case-table.js';
import { sleep } from './harness.js';

/** The CLIs whose hooks can hand messages over (bmad-bus's HANDOFF_CLIS). */
const HANDOFF: readonly CliName[] = ['claude', 'gemini', 'qwen'];
const NUDGE = /^You have \d+ new bus messages?\.$/;

const measured = caseTable(['cli', 'version', 'case', 'each once, in order', 'typed prompts', 'input box held a body', 'wall s']);

/** The text of the last main request: the whole conversation as the model last saw it. */
function lastConversation(run: Run): string {
  const main = run.model.requests.filter((r) => !r.side && r.body !== undefined);
  return main.length === 0 ? '' : JSON.stringify(main.at(-1)!.body);
}

/**
 * How often each message was handed over, by the conversation: the distinct handoff texts in it
 * (each says when it was handed over, so a second handoff of the same messages is another text;
 * a CLI that shows one handoff twice, as Claude Code does, as a hook's output and as a stop
 * "error", shows the same text twice).
 */
function handoffCounts(conversation: string, ids: readonly string[]): number[] {
  const texts = new Set(conversation.match(/\[bmad-bus\] \d+ new bus messages?.*?Reply on the bus/g) ?? []);
  return ids.map((id) => [...texts].filter((t) => t.includes(id)).length);
}

/** Samples the input box every 200 ms: the bodies' tokens found there (none, if nothing of a message was typed). */
function watchInputBox(name: CliName, run: Run, tokens: () => string[]): () => string[] {
  const profile = new ProfileSet().get(name)!;
  const seen = new Set<string>();
  const timer = setInterval(() => {
    const input = readScreen(profile, run.pane.screen()).input ?? '';
    for (const token of tokens()) if (input.includes(token)) seen.add(token);
  }, 200);
  return () => {
    clearInterval(timer);
    return [...seen];
  };
}

/**
 * The prompts the CLI's own hook reported submitted from its input box. Gemini CLI and Qwen Code
 * run their prompt hook for the turn a stop hook continued too, with the handoff as the prompt:
 * that one came from the hook, not from the box.
 */
function typedPrompts(name: CliName, run: Run): string[] {
  const file = path.join(run.root, 'state', 'receipts', `${name}-1.ndjson`);
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { prompt: string }).prompt.trim()).filter((p) => !p.startsWith('[bmad-bus] '));
}

/** Waits for every message in the model's conversation, then checks each is there once and in order, and the bus's side of it. */
async function expectHandedOver(name: CliName, run: Run, sent: Envelope[], row: string[], withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!sent.every((e) => lastConversation(run).includes(e.id)) && Date.now() < deadline) await sleep(250);
  await sleep(4000); // a duplicate would show by now
  const conversation = lastConversation(run);
  const counts = handoffCounts(conversation, sent.map((e) => e.id));
  const positions = sent.map((e) => conversation.indexOf(e.id));
  const inOrder = positions.every((p, i) => p >= 0 && (i === 0 || p > positions[i - 1]!));
  row[3] = `${counts.filter((c) => c === 1).length}/${sent.length}${inOrder ? '' : ' (out of order)'}`;
  const prompts = typedPrompts(name, run);
  row[4] = prompts.length === 0 ? 'none' : prompts.every((p) => NUDGE.test(p)) ? `${prompts.length} nudge(s)` : 'NOT ONLY NUDGES';
  assert.deepEqual(counts, sent.map(() => 1), `${name}: each message once in the conversation; waiting: ${await run.waiting()}; screen:\n${run.pane.screen()}`);
  assert.ok(inOrder, `${name}: in order (${positions.join(', ')})`);
  assert.ok(prompts.every((p) => NUDGE.test(p)), `${name}: only nudges were submitted from the input box: ${JSON.stringify(prompts)}`);
  // The router's side: each received (the CLI went on with it), nothing unconfirmed, nothing left.
  const deadlineTrace = Date.now() + 30_000;
  let states: string[] = [];
  do {
    states = await Promise.all(sent.map(async (e) => (await run.trace(e.id)).recipients.map((r) => `${r.via}:${r.state}`).join()));
    if (states.every((s) => s === 'hooks:received')) break;
    await sleep(500);
  } while (Date.now() < deadlineTrace);
  assert.deepEqual(states, sent.map(() => 'hooks:received'));
  assert.equal((await run.unconfirmed()).length, 0, `${name}: no delivery_unconfirmed event`);
}

const only = process.env.BMAD_AGENTS_ONLY?.split(',');

for (const name of HANDOFF.filter((c) => !only || only.includes(c))) {
  const found = findCli(name);
  const skip = typeof found === 'string' ? found : false;
  const version = typeof found === 'string' ? '-' : found.version;

  test(`${name}: an idle agent is nudged once; three messages (multi-line, 3,000 characters) come through its hooks`, { skip, timeout: 600_000 }, measured(name, 'idle: nudge', version, async (row) => {
    await withAgent(name, { deliver: 'hooks' }, async (run) => {
      const bodies = [`hooked-one ${name}`, `hooked-two ${name}\nsecond line\nthird line`, `hooked-long ${'0123456789'.repeat(300)}`.slice(0, 3000)];
      const stop = watchInputBox(name, run, () => ['hooked-one', 'hooked-two', 'second line', '0123456789']);
      const sent: Envelope[] = [];
      for (const body of bodies) sent.push(await run.send(body));
      try {
        await expectHandedOver(name, run, sent, row, 240_000);
      } finally {
        const held = stop();
        row[5] = held.length === 0 ? 'never' : held.join(', ');
        assert.deepEqual(held, [], `${name}: the input box never held a message's text`);
      }
    });
  }));

  test(`${name}: messages sent while the agent is busy arrive at its turn end, through the stop hook, no keystroke`, { skip, timeout: 600_000 }, measured(name, 'busy: turn end', version, async (row) => {
    await withAgent(name, { deliver: 'hooks' }, async (run) => {
      run.model.mode = { kind: 'slow', seconds: 8 };
      const stop = watchInputBox(name, run, () => ['hooked-busy']);
      const first = await run.send(`hooked-busy start ${name}`);
      // The nudge's turn took the first (its prompt hook handed it over); the model logs a request only once answered.
      const deadline = Date.now() + 120_000;
      const handed = async () => (await run.trace(first.id)).recipients[0]?.state === 'handed';
      while (!(await handed()) && Date.now() < deadline) await sleep(200);
      assert.ok(await handed(), `${name}: the nudge's turn started; waiting: ${await run.waiting()}\n${run.pane.screen()}`);
      await sleep(1500);
      // The model takes 8 s over this turn: these come while it is busy.
      const later = [await run.send(`hooked-busy one ${name}`), await run.send(`hooked-busy two ${name}`)];
      run.model.mode = { kind: 'fast' };
      try {
        await expectHandedOver(name, run, [first, ...later], row, 240_000);
        const prompts = typedPrompts(name, run);
        assert.equal(prompts.length, 1, `${name}: one nudge, for the first; the rest came at the turn end: ${JSON.stringify(prompts)}`);
        const status = JSON.parse((await cli(['status', '--json', ...run.base])).stdout) as { agents: Array<{ name: string; undelivered: number }> };
        assert.equal(status.agents.find((a) => a.name === `${name}-1`)?.undelivered, 0);
      } finally {
        const held = stop();
        row[5] = held.length === 0 ? 'never' : held.join(', ');
        assert.deepEqual(held, []);
      }
    });
  }));
}
