import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readHookReport } from '../../src/agents/hook-events.js';
import { readReportedState } from '../../src/agents/agent-state-store.js';
import { promptMatches, readReceipts } from '../../src/agents/receipts.js';
import { Layout } from '../../src/bus/layout.js';
import { cli, tempDir, tempRoot } from '../helpers/bus.js';

describe('hook events of each CLI', () => {
  test('prompt submitted, turn done, permission, idle, compaction, session start', () => {
    assert.deepEqual(readHookReport('claude', 'UserPromptSubmit', { hook_event_name: 'UserPromptSubmit', prompt: 'hi' }), { event: 'UserPromptSubmit', state: 'busy', prompt: 'hi' });
    assert.deepEqual(readHookReport('claude', 'Stop', { hook_event_name: 'Stop' }), { event: 'Stop', state: 'idle' });
    assert.deepEqual(readHookReport('claude', 'Notification', { hook_event_name: 'Notification', notification_type: 'permission_prompt', message: 'Claude needs your permission to use Bash' }).state, 'waiting_input');
    assert.deepEqual(readHookReport('claude', 'Notification', { hook_event_name: 'Notification', message: 'Claude needs your permission to use Bash' }).state, 'waiting_input', 'older versions: no type, the message says it');
    assert.deepEqual(readHookReport('claude', 'Notification', { hook_event_name: 'Notification', notification_type: 'idle_prompt' }).state, 'idle');
    assert.equal(readHookReport('claude', 'Notification', { hook_event_name: 'Notification', notification_type: 'auth_success' }).state, undefined);
    assert.equal(readHookReport('claude', 'PreCompact', {}).state, 'compacting');
    assert.equal(readHookReport('claude', 'SessionStart', {}).state, 'idle');
    assert.equal(readHookReport('claude', 'SubagentStop', {}).state, undefined, "a subagent's end is not the agent's");
    assert.deepEqual(readHookReport('gemini', 'BeforeAgent', { hook_event_name: 'BeforeAgent', prompt: 'x' }), { event: 'BeforeAgent', state: 'busy', prompt: 'x' });
    assert.equal(readHookReport('gemini', 'AfterAgent', { hook_event_name: 'AfterAgent' }).state, 'idle');
    assert.equal(readHookReport('gemini', 'Notification', { hook_event_name: 'Notification', notification_type: 'ToolPermission' }).state, 'waiting_input');
    assert.deepEqual(readHookReport('codex', 'notify', { type: 'agent-turn-complete', 'input-messages': ['one', 'two'] }), { event: 'agent-turn-complete', state: 'idle', prompt: 'one\ntwo' });
    assert.deepEqual(readHookReport('claude', 'Whatever', {}), { event: 'Whatever' });
  });

  test('a receipt matches the message typed, whitespace re-wrapped, or held whole in a longer prompt', () => {
    assert.ok(promptMatches('[a → b]  run\nthe tests ', '[a → b] run the tests'));
    assert.ok(promptMatches('context first\n[a → b] run the tests', '[a → b] run the tests'));
    assert.ok(!promptMatches('[a → b] run the', '[a → b] run the tests'));
    assert.ok(!promptMatches('anything', ''));
  });
});

describe('bmad-bus hook', () => {
  const hook = (root: string, args: string[], input?: string, agent = 'dev-1') =>
    cli(['--dir', root, 'hook', ...args], { ...(input !== undefined ? { input } : {}), env: { BMAD_AGENT: agent } });

  test('records the state and the receipt, prints nothing, exits 0', async () => {
    const { root, cleanup } = tempRoot();
    try {
      assert.equal((await cli(['--dir', root, 'init'])).code, 0);
      const layout = new Layout(root);
      const submitted = await hook(root, ['UserPromptSubmit'], JSON.stringify({ hook_event_name: 'UserPromptSubmit', prompt: '[user → dev-1] hello' }));
      assert.deepEqual([submitted.code, submitted.stdout, submitted.stderr], [0, '', '']);
      assert.equal(readReportedState(layout, 'dev-1')?.state, 'busy');
      const { receipts, end } = readReceipts(layout, 'dev-1');
      assert.deepEqual(receipts.map((r) => [r.prompt, r.cli]), [['[user → dev-1] hello', 'claude']]);
      await hook(root, ['Stop'], JSON.stringify({ hook_event_name: 'Stop' }));
      assert.equal(readReportedState(layout, 'dev-1')?.state, 'idle');
      assert.equal(readReceipts(layout, 'dev-1', end).receipts.length, 0, 'read on from where the last read ended');
      // Codex's notify passes its JSON as an argument.
      const codex = await hook(root, ['--cli', 'codex', 'notify', JSON.stringify({ type: 'agent-turn-complete', 'input-messages': ['[user → dev-1] second'] })], '');
      assert.equal(codex.code, 0);
      assert.deepEqual(readReceipts(layout, 'dev-1').receipts.map((r) => r.prompt), ['[user → dev-1] hello', '[user → dev-1] second']);
    } finally {
      cleanup();
    }
  });

  test('never fails the agent: no agent, no bus, bad JSON, a huge or endless stdin', async () => {
    const { root, cleanup } = tempRoot();
    const { dir, cleanup: cleanupDir } = tempDir();
    try {
      assert.equal((await cli(['--dir', root, 'init'])).code, 0);
      const quiet = (r: { code: number; stdout: string; stderr: string }) => assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
      quiet(await cli(['--dir', root, 'hook', 'Stop'], { input: '{}', env: { BMAD_AGENT: '' } }));
      const missing = path.join(dir, 'no-bus-here');
      quiet(await hook(missing, ['Stop'], '{}'));
      assert.ok(!fs.existsSync(missing), 'a hook never creates a bus');
      quiet(await hook(root, ['Stop'], '{not json'));
      assert.match(fs.readFileSync(path.join(root, 'log', 'hook.log'), 'utf8'), /hook Stop: .*JSON/);
      quiet(await hook(root, ['Stop'], 'x'.repeat(5 * 1024 * 1024)));
      quiet(await hook(root, ['Stop'], '{}', '../../etc'));
    } finally {
      cleanupDir();
      cleanup();
    }
  });

  test("status shows the state the agent's hooks report, and the supervisor's word on death first", async () => {
    const { root, cleanup } = tempRoot();
    try {
      assert.equal((await cli(['--dir', root, 'agents', 'add', 'dev-1', '--profile', 'claude'])).code, 0);
      const state = async () => {
        const report = JSON.parse((await cli(['--dir', root, 'status', '--json'])).stdout) as { agents: Array<{ name: string; state?: string; state_source?: string; profile?: string }> };
        return report.agents.find((a) => a.name === 'dev-1')!;
      };
      assert.equal((await state()).state, undefined, 'nothing known yet');
      assert.equal((await state()).profile, 'claude');
      await hook(root, ['Notification'], JSON.stringify({ hook_event_name: 'Notification', notification_type: 'permission_prompt' }));
      assert.deepEqual([(await state()).state, (await state()).state_source], ['waiting_input', 'hook']);
      assert.match((await cli(['--dir', root, 'status'])).stdout, /dev-1\s+-\s+inbox\s+claude\s+-\s+waiting_input\s+0/);
      // The supervisor marked it failed: a failed agent reports nothing any more.
      const registry = JSON.parse(fs.readFileSync(path.join(root, 'state', 'agents.json'), 'utf8'));
      registry.agents['dev-1'].status = 'failed';
      fs.writeFileSync(path.join(root, 'state', 'agents.json'), JSON.stringify(registry));
      assert.deepEqual([(await state()).state, (await state()).state_source], ['failed', 'supervisor']);
    } finally {
      cleanup();
    }
  });
});
