// bmad-bus delivery into the real agent CLIs (npm run test:agents): each installed CLI runs
// offline against the fake model in a pane; it is registered as an agent with its built-in
// profile and the router types the 13 messages into it — a burst of 10 one-liners,
// one multi-line, one holding ESC[201~ and $(touch …), one of 3,000 characters. The oracle is
// the user turns the fake model received: each message its own turn, intact and in order.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Envelope } from '../../src/bus/envelope.js';
import { ProfileSet } from '../../src/agents/profiles.js';
import { renderMessage } from '../../src/tmux/render.js';
import { cli, startRouter, type RunningRouter } from '../helpers/bus.js';
import { CLIS, findCli, type CliName } from './agents-cache.js';
import { FakeModel } from './fake-model.js';
import { AgentPane } from './harness.js';

const rows: string[][] = [['cli', 'version', 'own turns, intact, in order', 'unconfirmed events', 'wall s']];
after(() => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
});

/** A turn as compared: whitespace runs are one space; the tags Claude Code wraps a long paste in (`<pasted_content id="N">`) are the CLI's, not the message's. */
const norm = (t: string) => t.replace(/<\/?pasted_content[^>]*>/g, '').replace(/\s+/g, ' ').trim();
const MARK = path.join(os.tmpdir(), `bmad-agents-pwned-${process.pid}`);
const BODIES = [
  ...Array.from({ length: 10 }, (_, i) => `burst message ${i + 1} of 10`),
  'a multi-line message:\nline two\nline three',
  `escape payload: \x1b[201~ then $(touch ${MARK}) and \`touch ${MARK}\``,
  `long ${'0123456789'.repeat(300)}`.slice(0, 3000),
];

interface Run {
  pane: AgentPane;
  model: FakeModel;
  base: string[];
  /** Sends one message from `lead` to the agent; its envelope. */
  send(body: string): Promise<Envelope>;
  /** The `delivery_unconfirmed` events journaled so far. */
  unconfirmed(): Promise<Envelope[]>;
}

/** One CLI in a pane, registered as `<name>-1` with its profile (plus `addArgs`), a router typing into it; all ended afterwards. */
async function withAgent(name: CliName, addArgs: string[], body: (run: Run) => Promise<void>): Promise<void> {
  const model = await new FakeModel().start();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `bmad-deliver-${name}-`));
  const root = path.join(tmp, 'bus');
  let pane: AgentPane | undefined;
  let router: RunningRouter | undefined;
  try {
    pane = await AgentPane.start(name, { url: model.url, readyTimeoutMs: 120_000 });
    const base = ['--dir', root, '--tmux-socket', pane.socket];
    assert.equal((await cli(['init', ...base])).code, 0);
    const added = await cli(['agents', 'add', `${name}-1`, '--tmux', 'agent:0.0', '--deliver', 'tmux', '--profile', name, ...addArgs, ...base]);
    assert.equal(added.code, 0, added.stderr);
    router = await startRouter(root, ['--tmux-socket', pane.socket]);
    await body({
      pane,
      model,
      base,
      send: async (text) => {
        const r = await cli(['send', `${name}-1`, text, '--from', 'lead', '--json', ...base]);
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout) as Envelope;
      },
      unconfirmed: async () => (await cli(['tail', '--no-follow', '--json', '--type', 'event', ...base])).stdout.split('\n').filter(Boolean)
        .map((l) => JSON.parse(l) as Envelope).filter((e) => (e.body as { event?: string })?.event === 'delivery_unconfirmed'),
    });
  } finally {
    await router?.stop();
    await pane?.close();
    await model.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

for (const name of CLIS) {
  const found = findCli(name);
  test(`${name}: 13 messages through the router, each its own user turn, intact, in order`, { skip: typeof found === 'string' ? found : false, timeout: 600_000 }, async () => {
    const started = Date.now();
    const row = [name, typeof found === 'string' ? '-' : found.version, 'FAILED', '-', '-'];
    rows.push(row);
    try {
      await withAgent(name, [], async (run) => {
        const sent: Envelope[] = [];
        for (const body of BODIES) sent.push(await run.send(body));
        const profile = new ProfileSet().get(name)!;
        const expected = sent.map((e) => norm(renderMessage(e, undefined, profile.multiline)));
        await run.model.waitForTurns(expected.length, 300_000);
        await new Promise((r) => setTimeout(r, 3000)); // a duplicate or a stray turn would show up too
        const turns = run.model.userTurns.map(norm);
        row[2] = `${expected.filter((t, i) => turns[i] === t).length}/${expected.length}`;
        row[3] = String((await run.unconfirmed()).length);
        assert.ok(!fs.existsSync(MARK), 'nothing in a message ran as a command');
        assert.deepEqual(turns, expected, `${name}: the user turns the model received; screen:\n${run.pane.screen()}`);
      });
    } finally {
      row[4] = ((Date.now() - started) / 1000).toFixed(0);
      fs.rmSync(MARK, { force: true });
    }
  });

  // Space types a space into the input box: it never submits.
  test(`${name}: a wrong submit key (an override) ends in delivery_unconfirmed, never silence`, { skip: typeof found === 'string' ? found : false, timeout: 300_000 }, async () => {
    await withAgent(name, ['--submit', 'Space'], async (run) => {
      const sent = await run.send('this must not pass for delivered');
      const deadline = Date.now() + 60_000;
      let events = await run.unconfirmed();
      while (events.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        events = await run.unconfirmed();
      }
      assert.equal(events.length, 1, `${name}: one delivery_unconfirmed event; screen:\n${run.pane.screen()}`);
      assert.equal((events[0]!.body as { id: string }).id, sent.id);
      assert.deepEqual(run.model.userTurns, [], 'the model got no turn');
    });
  });
}
