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
import { CLIS, findCli } from './agents-cache.js';
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

for (const name of CLIS) {
  const found = findCli(name);
  test(`${name}: 13 messages through the router, each its own user turn, intact, in order`, { skip: typeof found === 'string' ? found : false, timeout: 600_000 }, async () => {
    const started = Date.now();
    const model = await new FakeModel().start();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `bmad-deliver-${name}-`));
    const root = path.join(tmp, 'bus');
    let pane: AgentPane | undefined;
    let router: RunningRouter | undefined;
    const row = [name, typeof found === 'string' ? '-' : found.version, 'FAILED', '-', '-'];
    rows.push(row);
    try {
      pane = await AgentPane.start(name, { url: model.url, readyTimeoutMs: 120_000 });
      const base = ['--dir', root, '--tmux-socket', pane.socket];
      assert.equal((await cli(['init', ...base])).code, 0);
      const added = await cli(['agents', 'add', `${name}-1`, '--tmux', 'agent:0.0', '--deliver', 'tmux', '--profile', name, ...base]);
      assert.equal(added.code, 0, added.stderr);
      router = await startRouter(root, ['--tmux-socket', pane.socket]);
      const sent: Envelope[] = [];
      for (const body of BODIES) {
        const r = await cli(['send', `${name}-1`, body, '--from', 'lead', '--json', ...base]);
        assert.equal(r.code, 0, r.stderr);
        sent.push(JSON.parse(r.stdout) as Envelope);
      }
      const profile = new ProfileSet().get(name)!;
      const expected = sent.map((e) => norm(renderMessage(e, undefined, profile.multiline)));
      await model.waitForTurns(expected.length, 300_000);
      await new Promise((r) => setTimeout(r, 3000)); // a duplicate or a stray turn would show up too
      const turns = model.userTurns.map(norm);
      const events = (await cli(['tail', '--no-follow', '--json', '--type', 'event', ...base])).stdout.split('\n').filter(Boolean)
        .map((l) => JSON.parse(l) as Envelope).filter((e) => (e.body as { event?: string })?.event === 'delivery_unconfirmed');
      const ownTurns = expected.filter((t, i) => turns[i] === t).length;
      row[2] = `${ownTurns}/${expected.length}`;
      row[3] = String(events.length);
      assert.ok(!fs.existsSync(MARK), 'nothing in a message ran as a command');
      assert.deepEqual(turns, expected, `${name}: the user turns the model received; screen:\n${pane.screen()}`);
    } finally {
      row[4] = ((Date.now() - started) / 1000).toFixed(0);
      await router?.stop();
      await pane?.close();
      await model.close();
      fs.rmSync(tmp, { recursive: true, force: true });
      fs.rmSync(MARK, { force: true });
    }
  });
}

for (const name of CLIS) {
  const found = findCli(name);
  test(`${name}: a wrong submit key (an override) ends in delivery_unconfirmed, never silence`, { skip: typeof found === 'string' ? found : false, timeout: 300_000 }, async () => {
    const model = await new FakeModel().start();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `bmad-wrongkey-${name}-`));
    const root = path.join(tmp, 'bus');
    let pane: AgentPane | undefined;
    let router: RunningRouter | undefined;
    try {
      pane = await AgentPane.start(name, { url: model.url, readyTimeoutMs: 120_000 });
      const base = ['--dir', root, '--tmux-socket', pane.socket];
      assert.equal((await cli(['init', ...base])).code, 0);
      // Space types a space into the input box: it never submits.
      const added = await cli(['agents', 'add', `${name}-1`, '--tmux', 'agent:0.0', '--deliver', 'tmux', '--profile', name, '--submit', 'Space', ...base]);
      assert.equal(added.code, 0, added.stderr);
      router = await startRouter(root, ['--tmux-socket', pane.socket]);
      const sent = JSON.parse((await cli(['send', `${name}-1`, 'this must not pass for delivered', '--from', 'lead', '--json', ...base])).stdout) as Envelope;
      const deadline = Date.now() + 60_000;
      let event: Envelope | undefined;
      while (!event && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        event = (await cli(['tail', '--no-follow', '--json', '--type', 'event', ...base])).stdout.split('\n').filter(Boolean)
          .map((l) => JSON.parse(l) as Envelope).find((e) => (e.body as { event?: string; id?: string })?.event === 'delivery_unconfirmed');
      }
      assert.ok(event, `${name}: a delivery_unconfirmed event; screen:\n${pane.screen()}`);
      assert.equal((event.body as { id: string }).id, sent.id);
      assert.deepEqual(model.userTurns, [], 'the model got no turn');
    } finally {
      await router?.stop();
      await pane?.close();
      await model.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}
