import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { cli, tempDir } from '../helpers/bus.js';

describe('bmad-bus hooks install / uninstall / status', () => {
  const run = (home: string, args: string[]) => cli(['hooks', ...args], { env: { HOME: home, CODEX_HOME: path.join(home, 'codex') } });

  test("merges into the user's settings, is idempotent, and uninstall takes out only its own hooks", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const project = path.join(dir, 'project');
      const file = path.join(project, '.claude', 'settings.local.json');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const mine = { model: 'opus', hooks: { Stop: [{ matcher: '', hooks: [{ type: 'command', command: 'notify-send done' }] }] } };
      fs.writeFileSync(file, JSON.stringify(mine));
      const installed = await run(dir, ['install', '--cli', 'claude', '--cwd', project, '--no-mcp']);
      assert.equal(installed.code, 0, installed.stderr);
      assert.match(installed.stdout, /^claude: installed the bmad-bus hooks in .*settings\.local\.json\n$/);
      const settings = JSON.parse(fs.readFileSync(file, 'utf8'));
      assert.equal(settings.model, 'opus', 'other settings stay');
      assert.deepEqual(Object.keys(settings.hooks).sort(), ['Notification', 'PreCompact', 'SessionStart', 'Stop', 'UserPromptSubmit']);
      const stopCommands = settings.hooks.Stop.flatMap((e: { hooks: Array<{ command: string }> }) => e.hooks.map((h) => h.command));
      assert.equal(stopCommands[0], 'notify-send done', "the user's own hook stays, first");
      assert.match(stopCommands[1], /bin\/bmad-bus hook --cli claude Stop$/);
      const before = fs.readFileSync(file, 'utf8');
      assert.match((await run(dir, ['install', '--cli', 'claude', '--cwd', project, '--no-mcp'])).stdout, /already has the bmad-bus hooks/);
      assert.equal(fs.readFileSync(file, 'utf8'), before, 'idempotent: the file is not touched');
      assert.match((await run(dir, ['status', '--cli', 'claude', '--cwd', project])).stdout, /^claude: installed /);
      const dry = await run(dir, ['uninstall', '--cli', 'claude', '--cwd', project, '--dry-run']);
      assert.match(dry.stdout, /would write/);
      assert.equal(fs.readFileSync(file, 'utf8'), before, '--dry-run writes nothing');
      assert.equal((await run(dir, ['uninstall', '--cli', 'claude', '--cwd', project])).code, 0);
      assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), mine, 'back to exactly what the user had');
      assert.match((await run(dir, ['status', '--cli', 'claude', '--cwd', project, '--json'])).stdout, /"hooks": "absent"/);
    } finally {
      cleanup();
    }
  });

  test('gemini and qwen in the project, codex notify in the user config; a foreign notify and broken JSON are refused', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const project = path.join(dir, 'p');
      fs.mkdirSync(project);
      const all = await run(dir, ['install', '--cwd', project, '--json']);
      assert.equal(all.code, 0, all.stderr);
      const results = JSON.parse(all.stdout) as Array<{ cli: string; part: string; changed?: boolean; skipped?: string }>;
      assert.deepEqual(results.filter((r) => r.part === 'hooks').map((r) => [r.cli, r.changed ?? r.skipped]), [['claude', true], ['gemini', true], ['qwen', true], ['codex', 'user scope only (--scope user)']]);
      const gemini = JSON.parse(fs.readFileSync(path.join(project, '.gemini', 'settings.json'), 'utf8'));
      assert.match(gemini.hooks.BeforeAgent[0].hooks[0].command, /hook --cli gemini BeforeAgent$/);
      assert.ok(fs.existsSync(path.join(project, '.qwen', 'settings.json')));

      const toml = path.join(dir, 'codex', 'config.toml');
      fs.mkdirSync(path.dirname(toml));
      fs.writeFileSync(toml, 'model = "gpt-5"\n\n[projects."/x"]\ntrust_level = "trusted"\n');
      assert.equal((await run(dir, ['install', '--cli', 'codex', '--scope', 'user', '--no-mcp'])).code, 0);
      const written = fs.readFileSync(toml, 'utf8');
      assert.match(written, /^model = "gpt-5"\nnotify = \[".*bin\/bmad-bus","hook","--cli","codex","notify"\]\n\n\[projects/);
      assert.match((await run(dir, ['install', '--cli', 'codex', '--scope', 'user', '--no-mcp'])).stdout, /already has/);
      assert.equal((await run(dir, ['uninstall', '--cli', 'codex', '--scope', 'user', '--no-mcp'])).code, 0);
      assert.equal(fs.readFileSync(toml, 'utf8'), 'model = "gpt-5"\n\n[projects."/x"]\ntrust_level = "trusted"\n');
      fs.writeFileSync(toml, 'notify = ["my-notifier"]\n');
      const foreign = await run(dir, ['install', '--cli', 'codex', '--scope', 'user', '--no-mcp']);
      assert.equal(foreign.code, 2);
      assert.match(foreign.stderr, /already has a notify command of its own/);
      assert.equal(fs.readFileSync(toml, 'utf8'), 'notify = ["my-notifier"]\n', 'nothing changed');
      const codexProject = await run(dir, ['install', '--cli', 'codex']);
      assert.equal(codexProject.code, 2);
      assert.match(codexProject.stderr, /use --scope user/);

      fs.writeFileSync(path.join(project, '.gemini', 'settings.json'), '{ broken');
      const broken = await run(dir, ['install', '--cli', 'gemini', '--cwd', project]);
      assert.equal(broken.code, 2);
      assert.match(broken.stderr, /is not valid JSON .*nothing was changed/);
      assert.equal(fs.readFileSync(path.join(project, '.gemini', 'settings.json'), 'utf8'), '{ broken');
      assert.equal((await run(dir, ['install', '--cli', 'nope'])).code, 2);
    } finally {
      cleanup();
    }
  });
});
