// The bmad-bus MCP server in the real agent CLIs (npm run test:agents): each CLI runs offline
// against the fake model with `bmad-bus mcp` registered by `bmad-bus hooks install` (nothing
// else: no permission is answered on screen). The fake model answers the first turn with a call
// of the server's send_message, then one of read_inbox. The oracles: the message is in the bus
// journal with the agent as `from`, and the read_inbox result the CLI sent back to the model
// holds the message the test had sent to the agent. BMAD_MCP_LOG=/tmp/x logs each CLI's requests
// to /tmp/x-<cli>.ndjson.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Envelope } from '../../src/bus/envelope.js';
import { Layout } from '../../src/bus/layout.js';
import { readJournal } from '../../src/journal/reader.js';
import { cli as bus, startRouter, type RunningRouter } from '../helpers/bus.js';
import { findCli, type CliName } from './agents-cache.js';
import { FakeModel } from './fake-model.js';
import { AgentPane } from './harness.js';
import { findRun } from './proc-tree.js';

const rows: string[][] = [['cli', 'version', 'router', 'send_message from the agent', 'read_inbox result reached the model', 'wall s']];
after(() => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
});

function journal(root: string): Envelope[] {
  const dir = new Layout(root).journalDir;
  const out: Envelope[] = [];
  for (let from = 0; ;) {
    const { lines, next } = readJournal(dir, from);
    if (lines.length === 0) return out;
    out.push(...lines.map((l) => JSON.parse(l.line) as Envelope));
    from = next;
  }
}

async function until<T>(check: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
}

const only = process.env.BMAD_AGENTS_ONLY?.split(',');
// Claude Code without a router, the others with one: `mcp` works either way.
const CASES: Array<{ name: CliName; router: boolean }> = [
  { name: 'claude', router: false },
  { name: 'codex', router: true },
  { name: 'gemini', router: true },
  { name: 'qwen', router: false },
];

for (const { name, router: withRouter } of CASES.filter((c) => !only || only.includes(c.name))) {
  const found = findCli(name);
  test(`${name}: the model sends and reads bus messages through the bmad-bus MCP server`, { skip: typeof found === 'string' ? found : false, timeout: 300_000 }, async () => {
    const agent = `${name}-1`;
    const token = crypto.randomBytes(3).toString('hex');
    const model = await new FakeModel({
      mode: {
        kind: 'script',
        steps: [
          // Claude Code and Qwen Code defer MCP tools behind a tool search (Claude's also waits for a
          // server still connecting): a model asks for their schemas first, as a real one does.
          ...(name === 'claude' || name === 'qwen' ? [{ tool: /^(ToolSearch|tool_search)$/, args: { query: 'select:mcp__bmad-bus__send_message,mcp__bmad-bus__read_inbox' } }] : []),
          { tool: /bmad.?bus.*send_message$/, args: { to: 'tester', body: `hello from the model ${token}` } },
          { tool: /bmad.?bus.*read_inbox$/, args: { ack: true } },
        ],
      },
      ...(process.env.BMAD_MCP_LOG ? { logPath: `${process.env.BMAD_MCP_LOG}-${name}.ndjson` } : {}),
    }).start();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `bmad-mcp-${name}-`));
    const root = path.join(tmp, 'bus');
    const row = [name, typeof found === 'string' ? '-' : found.version, withRouter ? 'yes' : 'no', 'no', 'no', ''];
    rows.push(row);
    const t0 = Date.now();
    let pane: AgentPane | undefined;
    let router: RunningRouter | undefined;
    try {
      assert.equal((await bus(['--dir', root, 'init'])).code, 0);
      for (const a of [agent, 'tester']) assert.equal((await bus(['--dir', root, 'agents', 'add', a, '--deliver', 'none'])).code, 0);
      if (withRouter) router = await startRouter(root);
      const forModel = await bus(['--dir', root, 'send', agent, '--from', 'tester', `a message for the model ${token}`]);
      assert.equal(forModel.code, 0, forModel.stderr);
      const forModelId = forModel.stdout.trim();

      pane = await AgentPane.start(name, {
        url: model.url,
        readyTimeoutMs: 120_000,
        env: { BMAD_AGENT: agent },
        prepare: async (launch) => {
          // Registered as a user would: `bmad-bus hooks install`, in the CLI's own HOME and project.
          const scope = name === 'codex' ? ['--scope', 'user'] : [];
          const env = { HOME: launch.home, ...(launch.env.CODEX_HOME ? { CODEX_HOME: launch.env.CODEX_HOME } : {}) };
          const installed = await bus(['--dir', root, 'hooks', 'install', '--cli', name, '--cwd', launch.cwd, '--no-hooks', ...scope], { env });
          assert.equal(installed.code, 0, installed.stderr);
        },
      });
      // The CLI connects its MCP servers while it starts, and may take a first turn before ours is
      // up (its tools are not offered yet: a script miss). Then ask again, as a user would.
      const fromAgent = (): Envelope | undefined => journal(root).find((e) => e.from === agent && e.to === 'tester');
      for (let attempt = 0; attempt < 4 && !fromAgent(); attempt++) {
        const misses = model.scriptMisses.length;
        await pane.send('Say hello to tester on the bus, then read your inbox.');
        await until(() => fromAgent() ?? (model.scriptMisses.length > misses ? true : undefined), 40_000);
        if (!fromAgent()) await pane.waitStable(1000, 10_000);
      }
      const sent = await until(fromAgent, 30_000);
      assert.ok(sent, `no message from ${agent} on the bus; script misses ${JSON.stringify(model.scriptMisses)}; screen:\n${pane.screen()}`);
      assert.equal(sent.body, `hello from the model ${token}`);
      row[3] = 'yes';

      const result = await until(() => model.toolResults.find((r) => r.includes(forModelId)), 60_000);
      assert.ok(result, `read_inbox's result never reached the model; results ${JSON.stringify(model.toolResults)}; screen:\n${pane.screen()}`);
      assert.match(result, new RegExp(`a message for the model ${token}`));
      // Gemini hands the tool's text over inside a JSON string (escaped quotes).
      assert.match(result.replace(/\\"/g, '"'), /"from":"tester"/);
      row[4] = 'yes';
      // ack: true moved the agent's read position past it: `bmad-bus read` has nothing left.
      const left = await bus(['--dir', root, 'read', agent, '--json']);
      assert.equal(left.stdout, '', 'acknowledged through MCP');
    } finally {
      row[5] = ((Date.now() - t0) / 1000).toFixed(0);
      if (pane) {
        await pane.close();
        const left = findRun(undefined, pane.marker);
        assert.deepEqual(left, [], `${name} left processes behind: ${left.join(', ')}`);
      }
      await router?.stop();
      await model.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}
