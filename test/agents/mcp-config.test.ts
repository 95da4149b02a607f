import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { setTomlTable } from '../../src/agents/config-files.js';
import { registerMcpServer } from '../../src/agents/mcp-config.js';
import { BIN, cli, tempDir } from '../helpers/bus.js';

const read = (file: string): any => JSON.parse(fs.readFileSync(file, 'utf8'));

describe('hooks install registers the bmad-bus MCP server', () => {
  const run = (home: string, args: string[]) => cli(['hooks', ...args], { env: { HOME: home, CODEX_HOME: path.join(home, 'codex') } });

  test("Claude Code: .mcp.json and the project's settings, merged with the user's, idempotent; uninstall takes out only ours", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const project = path.join(dir, 'project');
      fs.mkdirSync(path.join(project, '.claude'), { recursive: true });
      const mcpJson = path.join(project, '.mcp.json');
      const settingsFile = path.join(project, '.claude', 'settings.local.json');
      const theirServers = { mcpServers: { github: { command: 'gh-mcp', args: ['serve'] } }, extra: true };
      const theirSettings = { permissions: { allow: ['Bash(npm test)'], deny: ['Bash(rm:*)'] }, enabledMcpjsonServers: ['github'], model: 'opus' };
      fs.writeFileSync(mcpJson, JSON.stringify(theirServers, null, 4));
      fs.writeFileSync(settingsFile, JSON.stringify(theirSettings));
      const mcpBefore = fs.readFileSync(mcpJson, 'utf8');
      const settingsBefore = fs.readFileSync(settingsFile, 'utf8');

      const dry = await run(dir, ['install', '--cli', 'claude', '--cwd', project, '--no-hooks', '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /would register the bmad-bus MCP server in .*\.mcp\.json and .*settings\.local\.json/);
      assert.equal(fs.readFileSync(mcpJson, 'utf8'), mcpBefore, '--dry-run writes nothing');

      const installed = await run(dir, ['install', '--cli', 'claude', '--cwd', project, '--no-hooks']);
      assert.equal(installed.code, 0, installed.stderr);
      assert.match(installed.stdout, /^claude: registered the bmad-bus MCP server in .*\.mcp\.json and .*settings\.local\.json\n$/);
      const servers = read(mcpJson);
      assert.deepEqual(servers.mcpServers.github, theirServers.mcpServers.github, 'their server stays');
      assert.equal(servers.extra, true);
      assert.deepEqual(servers.mcpServers['bmad-bus'], { type: 'stdio', command: BIN, args: ['mcp'] });
      const settings = read(settingsFile);
      assert.deepEqual(settings.permissions, { allow: ['Bash(npm test)', 'mcp__bmad-bus'], deny: ['Bash(rm:*)'] });
      assert.deepEqual(settings.enabledMcpjsonServers, ['github', 'bmad-bus']);
      assert.equal(settings.model, 'opus');

      const written = [fs.readFileSync(mcpJson, 'utf8'), fs.readFileSync(settingsFile, 'utf8')];
      assert.match((await run(dir, ['install', '--cli', 'claude', '--cwd', project, '--no-hooks'])).stdout, /already register the bmad-bus MCP server/);
      assert.deepEqual([fs.readFileSync(mcpJson, 'utf8'), fs.readFileSync(settingsFile, 'utf8')], written, 'idempotent: not touched');
      const status = JSON.parse((await run(dir, ['status', '--cli', 'claude', '--cwd', project, '--json'])).stdout);
      assert.equal(status[0].mcp, 'registered');
      assert.equal(status[0].hooks, 'absent');

      assert.equal((await run(dir, ['uninstall', '--cli', 'claude', '--cwd', project, '--no-hooks'])).code, 0);
      assert.deepEqual(read(mcpJson), theirServers, 'back to their servers');
      assert.deepEqual(read(settingsFile), theirSettings, 'back to their settings');
      assert.equal(JSON.parse((await run(dir, ['status', '--cli', 'claude', '--cwd', project, '--json'])).stdout)[0].mcp, 'absent');
      // Untouched text stays byte for byte when there is nothing of ours to take out.
      fs.writeFileSync(mcpJson, mcpBefore);
      fs.writeFileSync(settingsFile, settingsBefore);
      await run(dir, ['uninstall', '--cli', 'claude', '--cwd', project, '--no-hooks']);
      assert.equal(fs.readFileSync(mcpJson, 'utf8'), mcpBefore);
      assert.equal(fs.readFileSync(settingsFile, 'utf8'), settingsBefore);
    } finally {
      cleanup();
    }
  });

  test('hooks and the MCP server together share Claude\'s settings file; --scope user writes ~/.claude.json', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const project = path.join(dir, 'p');
      fs.mkdirSync(project);
      assert.equal((await run(dir, ['install', '--cli', 'claude', '--cwd', project])).code, 0);
      const settings = read(path.join(project, '.claude', 'settings.local.json'));
      assert.ok(settings.hooks.Stop, 'the hooks are there');
      assert.deepEqual(settings.permissions.allow, ['mcp__bmad-bus'], 'and the MCP permission, in the same file');
      assert.match((await run(dir, ['status', '--cli', 'claude', '--cwd', project])).stdout, /^claude: installed .*; MCP server registered /);

      fs.writeFileSync(path.join(dir, '.claude.json'), JSON.stringify({ numStartups: 3, mcpServers: { mine: { command: 'm' } } }));
      const user = await cli(['--dir', path.join(dir, 'bus'), 'hooks', 'install', '--cli', 'claude', '--scope', 'user', '--no-hooks', '--agent', 'dev-1'], { env: { HOME: dir } });
      assert.equal(user.code, 0, user.stderr);
      const claudeJson = read(path.join(dir, '.claude.json'));
      assert.equal(claudeJson.numStartups, 3);
      assert.deepEqual(claudeJson.mcpServers.mine, { command: 'm' });
      assert.deepEqual(claudeJson.mcpServers['bmad-bus'].args, ['--dir', path.join(dir, 'bus'), 'mcp', '--agent', 'dev-1'], '--dir and --agent are fixed');
      assert.deepEqual(read(path.join(dir, '.claude', 'settings.json')), { permissions: { allow: ['mcp__bmad-bus'] } }, 'no enabledMcpjsonServers for user scope');
    } finally {
      cleanup();
    }
  });

  test('Gemini CLI and Qwen Code: mcpServers, trusted; Codex: [mcp_servers.bmad-bus] in config.toml', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const project = path.join(dir, 'p');
      fs.mkdirSync(path.join(project, '.gemini'), { recursive: true });
      fs.writeFileSync(path.join(project, '.gemini', 'settings.json'), JSON.stringify({ theme: 'dark', mcpServers: { fs: { command: 'fs-mcp' } } }));
      const all = await run(dir, ['install', '--cwd', project, '--no-hooks', '--json']);
      assert.equal(all.code, 0, all.stderr);
      const rows = JSON.parse(all.stdout) as Array<{ cli: string; part: string; changed?: boolean; skipped?: string }>;
      assert.deepEqual(rows.map((r) => [r.cli, r.part, r.changed ?? r.skipped]), [
        ['claude', 'mcp', true], ['gemini', 'mcp', true], ['qwen', 'mcp', true], ['codex', 'mcp', 'user scope only (--scope user)'],
      ]);
      const gemini = read(path.join(project, '.gemini', 'settings.json'));
      assert.equal(gemini.theme, 'dark');
      assert.deepEqual(gemini.mcpServers, { fs: { command: 'fs-mcp' }, 'bmad-bus': { command: BIN, args: ['mcp'], trust: true } });
      assert.deepEqual(read(path.join(project, '.qwen', 'settings.json')).mcpServers['bmad-bus'].trust, true);

      const toml = path.join(dir, 'codex', 'config.toml');
      fs.mkdirSync(path.dirname(toml));
      const theirs = 'model = "gpt-5"\n\n[mcp_servers.docs]\ncommand = "docs-mcp"\n\n[projects."/x"]\ntrust_level = "trusted"\n';
      fs.writeFileSync(toml, theirs);
      assert.equal((await run(dir, ['install', '--cli', 'codex', '--scope', 'user', '--no-hooks'])).code, 0);
      const written = fs.readFileSync(toml, 'utf8');
      assert.equal(
        written,
        `${theirs}\n[mcp_servers.bmad-bus]\ncommand = ${JSON.stringify(BIN)}\nargs = ["mcp"]\nenv_vars = ["BMAD_AGENT","BMAD_BUS_DIR","BMAD_TMUX_SOCKET"]\ndefault_tools_approval_mode = "approve"\n`,
      );
      assert.match((await run(dir, ['install', '--cli', 'codex', '--scope', 'user', '--no-hooks'])).stdout, /already register/);
      assert.equal(fs.readFileSync(toml, 'utf8'), written);
      assert.equal((await run(dir, ['uninstall', '--cli', 'codex', '--scope', 'user', '--no-hooks'])).code, 0);
      assert.equal(fs.readFileSync(toml, 'utf8'), theirs, 'back to exactly what they had');
      assert.equal((await run(dir, ['install', '--cli', 'codex', '--no-hooks'])).code, 2, 'codex has no project scope');
      assert.equal((await run(dir, ['install', '--no-hooks', '--no-mcp'])).code, 2);
    } finally {
      cleanup();
    }
  });

  test('a broken settings file stops the whole install before anything is written', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const project = path.join(dir, 'p');
      fs.mkdirSync(path.join(project, '.qwen'), { recursive: true });
      fs.writeFileSync(path.join(project, '.qwen', 'settings.json'), '{ broken');
      const broken = await run(dir, ['install', '--cwd', project]);
      assert.equal(broken.code, 2);
      assert.match(broken.stderr, /is not valid JSON .*nothing was changed/);
      assert.deepEqual(fs.readdirSync(project), ['.qwen'], 'no Claude or Gemini file was written first');
    } finally {
      cleanup();
    }
  });
});

describe('registerMcpServer (for `up`) and the TOML table editor', () => {
  test('registers for one agent directory, idempotently', () => {
    const { dir, cleanup } = tempDir();
    try {
      const env = { HOME: dir, CODEX_HOME: path.join(dir, 'codex') };
      const first = registerMcpServer({ cli: 'claude', cwd: dir, bin: '/opt/bmad-bus', dir: '/tmp/bus-x', env });
      assert.deepEqual(first, [path.join(dir, '.mcp.json'), path.join(dir, '.claude', 'settings.local.json')]);
      assert.deepEqual(read(path.join(dir, '.mcp.json')).mcpServers['bmad-bus'].args, ['--dir', '/tmp/bus-x', 'mcp']);
      assert.deepEqual(registerMcpServer({ cli: 'claude', cwd: dir, bin: '/opt/bmad-bus', dir: '/tmp/bus-x', env }), []);
      assert.deepEqual(registerMcpServer({ cli: 'codex', cwd: dir, bin: '/opt/bmad-bus', env }), [path.join(dir, 'codex', 'config.toml')], 'codex: user scope by default');
    } finally {
      cleanup();
    }
  });

  test('setTomlTable replaces a table with its sub-tables, keeps the rest, and removes only it', () => {
    const text = 'a = 1\n\n[mcp_servers.bmad-bus]\ncommand = "old"\n\n[mcp_servers.bmad-bus.env]\nX = "1"\n\n[other]\nb = 2\n';
    assert.equal(setTomlTable(text, 'mcp_servers.bmad-bus', ['command = "new"']), 'a = 1\n\n[mcp_servers.bmad-bus]\ncommand = "new"\n\n[other]\nb = 2\n');
    assert.equal(setTomlTable(text, 'mcp_servers.bmad-bus', undefined), 'a = 1\n\n[other]\nb = 2\n');
    assert.equal(setTomlTable('[mcp_servers."bmad-bus"]\ncommand = "q"\n', 'mcp_servers.bmad-bus', undefined), '', 'a quoted key is the same table');
    assert.equal(setTomlTable('', 'mcp_servers.bmad-bus', ['x = 1']), '[mcp_servers.bmad-bus]\nx = 1\n');
    assert.equal(setTomlTable('a = 1', 'mcp_servers.bmad-bus', undefined), 'a = 1', 'nothing of ours: unchanged');
  });
});
