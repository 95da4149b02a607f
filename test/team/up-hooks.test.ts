import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, cli } from '../helpers/bus.js';
import { TmuxBed } from '../helpers/tmux.js';

/** `up` installs the agents' hooks into each CLI's settings before their panes start (issue #10: `hooks: true`, on by default for AI profiles). */
describe('up: the agents’ hooks', () => {
  const bed = new TmuxBed();
  const dirs = ['claude-dir', 'gemini-dir', 'qwen-dir', 'codex-home', 'off-dir', 'plain-dir', 'broken-dir', 'dry-dir', 'mcp-dir'];
  const at = (name: string) => path.join(bed.dir, name);
  before(() => {
    bed.start();
    for (const d of dirs) fs.mkdirSync(at(d));
    fs.mkdirSync(path.join(at('broken-dir'), '.claude'));
    fs.writeFileSync(path.join(at('broken-dir'), '.claude', 'settings.local.json'), '{ "permissions": ');
  });
  after(() => bed.close());

  const topology = (name: string, panes: string) => {
    const file = path.join(bed.dir, `${name}.yaml`);
    fs.writeFileSync(file, `name: ${name}\nsessions:\n  - name: ${name}\n    windows:\n      - name: w\n        panes:\n${panes}`);
    return file;
  };
  const pane = (name: string, extra: string) => `          - { name: ${name}, command: "sleep 600", ${extra} }\n`;

  it('each CLI gets its hooks where it reads them; hooks: false and non-AI profiles get none; a broken file is reported and left alone', async () => {
    const file = topology('hooked', [
      pane('cl-1', `profile: claude, cwd: ${at('claude-dir')}`),
      pane('cl-2', `profile: claude, deliver: hooks, cwd: ${at('claude-dir')}`),
      pane('ge-1', `profile: gemini, cwd: ${at('gemini-dir')}`),
      pane('qw-1', `profile: qwen, cwd: ${at('qwen-dir')}`),
      pane('cx-1', `profile: codex, cwd: ${at('plain-dir')}, env: { CODEX_HOME: ${at('codex-home')} }`),
      pane('off-1', `profile: claude, hooks: false, cwd: ${at('off-dir')}`),
      pane('sh-1', `profile: shell, cwd: ${at('plain-dir')}`),
      pane('br-1', `profile: claude, cwd: ${at('broken-dir')}`),
    ].join(''));
    const result = await bed.up(file);
    const claude = JSON.parse(fs.readFileSync(path.join(at('claude-dir'), '.claude', 'settings.local.json'), 'utf8')) as { hooks: Record<string, Array<{ hooks: Array<{ command: string }> }>> };
    for (const event of ['UserPromptSubmit', 'Stop', 'Notification', 'PreCompact', 'SessionStart']) {
      const commands = claude.hooks[event]!.flatMap((e) => e.hooks.map((h) => h.command));
      assert.deepEqual(commands, [`${BIN} hook --cli claude ${event}`], `one entry for ${event}, shared by cl-1 and cl-2`);
    }
    assert.match(fs.readFileSync(path.join(at('gemini-dir'), '.gemini', 'settings.json'), 'utf8'), /hook --cli gemini BeforeAgent/);
    assert.match(fs.readFileSync(path.join(at('qwen-dir'), '.qwen', 'settings.json'), 'utf8'), /hook --cli qwen UserPromptSubmit/);
    assert.match(fs.readFileSync(path.join(at('codex-home'), 'config.toml'), 'utf8'), /^notify = \[.*"hook","--cli","codex"/m);
    assert.deepEqual(fs.readdirSync(at('off-dir')), [], 'hooks: false');
    assert.ok(!fs.existsSync(path.join(at('claude-dir'), '.mcp.json')), 'no MCP server unless mcp: true');
    assert.deepEqual(fs.readdirSync(at('plain-dir')), [], 'shell profile (and codex keeps to CODEX_HOME)');
    assert.equal(fs.readFileSync(path.join(at('broken-dir'), '.claude', 'settings.local.json'), 'utf8'), '{ "permissions": ');
    assert.match(result.stdout, /hooks for br-1 \(claude\) not installed: .*settings\.local\.json/);
    assert.match(result.stdout, /hooks for cl-1, cl-2 \(claude\): installed in /);
    // The panes still came up, and a second up changes nothing.
    const agents = JSON.parse((await cli(['agents', '--json', ...bed.base])).stdout) as Array<{ name: string; deliver: string }>;
    assert.equal(agents.length, 8);
    assert.equal(agents.find((a) => a.name === 'cl-2')?.deliver, 'hooks', 'deliver: hooks, its hooks installed like the others');
    const again = await cli(['up', file, '--no-router', '--json', ...bed.base]);
    assert.equal(again.code, 0, again.stderr);
    const hooks = (JSON.parse(again.stdout) as { hooks: Array<{ cli: string; changed: boolean; error?: string }> }).hooks;
    assert.deepEqual(hooks.filter((h) => h.changed), []);
    assert.equal(hooks.length, 5, 'claude-dir, gemini-dir, qwen-dir, codex-home, broken-dir');
  });

  it('mcp: true registers the bus’s MCP server for the agent before its pane starts', async () => {
    const file = topology('mcp', pane('mc-1', `profile: claude, mcp: true, cwd: ${at('mcp-dir')}`));
    const result = await bed.up(file);
    const servers = (JSON.parse(fs.readFileSync(path.join(at('mcp-dir'), '.mcp.json'), 'utf8')) as { mcpServers: Record<string, { command: string; args: string[] }> }).mcpServers;
    assert.deepEqual([servers['bmad-bus']?.command, servers['bmad-bus']?.args], [BIN, ['mcp']]);
    assert.match(result.stdout, /MCP server for mc-1 \(claude\): registered in .*\.mcp\.json/);
  });

  it('--dry-run says what it would install and writes nothing', async () => {
    const file = topology('dry', pane('dr-1', `profile: claude, cwd: ${at('dry-dir')}`));
    const result = await cli(['up', file, '--dry-run', ...bed.base]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /hooks for dr-1 \(claude\): would install in .*dry-dir\/\.claude\/settings\.local\.json/);
    assert.deepEqual(fs.readdirSync(at('dry-dir')), []);
  });
});
