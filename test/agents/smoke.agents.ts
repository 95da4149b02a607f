// Smoke test of the real agent CLIs (npm run test:agents, not npm test): each installed CLI is
// started offline against the fake model, one message is pasted and submitted 300 ms later, and
// the fake model must have received exactly that one user turn. A CLI that is not installed is
// skipped with the reason; one that is installed and fails, fails. BMAD_AGENTS_LATEST=1 tests the
// newest versions that `install-agents.mjs --latest` installed.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, test } from 'node:test';
import { CLIS, findCli } from './agents-cache.js';
import { FakeModel } from './fake-model.js';
import { AgentPane, sleep } from './harness.js';
import { findRun } from './proc-tree.js';

interface Row {
  cli: string;
  version: string;
  result: string;
  turns: string;
  startMs: number | string;
  arriveMs: number | string;
  pids: number | string;
}

const rows: Row[] = [];

after(() => {
  const head: Row = { cli: 'cli', version: 'version', result: 'result', turns: 'user turns received', startMs: 'ready ms', arriveMs: 'turn ms', pids: 'pids ended' };
  const cols = Object.keys(head) as (keyof Row)[];
  const width = (k: keyof Row) => Math.max(...[head, ...rows].map((r) => String(r[k]).length));
  for (const r of [head, ...rows]) console.log(cols.map((k) => String(r[k]).padEnd(width(k))).join('  '));
});

// BMAD_AGENTS_ONLY=qwen,codex runs a few.
const only = process.env.BMAD_AGENTS_ONLY?.split(',');

for (const cli of CLIS.filter((c) => !only || only.includes(c))) {
  const found = findCli(cli);
  if (typeof found === 'string') rows.push({ cli, version: '-', result: 'skipped', turns: found, startMs: '-', arriveMs: '-', pids: '-' });
  test(`${cli}: a pasted message submitted after 300 ms arrives as exactly one user turn`, { skip: typeof found === 'string' ? found : false, timeout: 240_000 }, async () => {
    const version = typeof found === 'string' ? '-' : found.version;
    const message = `bmad smoke test for ${cli}, token ${crypto.randomBytes(3).toString('hex')}`;
    const model = await new FakeModel().start();
    let pane: AgentPane | undefined;
    const row: Row = { cli, version, result: 'FAILED', turns: '', startMs: '-', arriveMs: '-', pids: '-' };
    rows.push(row);
    try {
      const t0 = Date.now();
      pane = await AgentPane.start(cli, { url: model.url, readyTimeoutMs: 120_000 });
      row.startMs = Date.now() - t0;
      const t1 = Date.now();
      await pane.send(message, 300);
      await model.waitForTurns(1, 90_000);
      row.arriveMs = Date.now() - t1;
      // A little longer, so a duplicate or a stray turn would show up too.
      await sleep(3000);
      row.turns = JSON.stringify(model.userTurns);
      assert.deepEqual(model.userTurns, [message], `${cli} should send exactly the pasted message as one user turn; screen:\n${pane.screen()}`);
      row.result = 'ok';
    } finally {
      if (!row.turns) row.turns = JSON.stringify(model.userTurns);
      if (pane) {
        row.pids = (await pane.close()).length;
        const left = findRun(undefined, pane.marker);
        assert.deepEqual(left, [], `${cli} left processes behind: ${left.join(', ')}`);
      }
      await model.close();
    }
  });
}
