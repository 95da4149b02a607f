import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { UsageError } from '../../src/bus/errors.js';
import { ProfileSet } from '../../src/agents/profiles.js';
import { parseTopology } from '../../src/team/topology.js';
import { cli, tempDir, tempRoot } from '../helpers/bus.js';

describe('agent profiles', () => {
  const set = new ProfileSet();

  test('ships one profile per tested CLI, plus readline and shell', () => {
    assert.deepEqual(set.names, ['claude', 'codex', 'gemini', 'qwen', 'opencode', 'readline', 'shell']);
    for (const name of ['claude', 'codex', 'gemini', 'qwen', 'opencode']) {
      const p = set.get(name)!;
      assert.equal(p.ai, true, name);
      assert.equal(p.default_policy, 'when-idle', name);
      assert.ok(p.submit_delay >= 300, `${name}: a submit delay the CLIs were measured to need`);
      assert.ok(p.screen, `${name} reads its screen`);
    }
    assert.equal(set.get('readline')!.default_policy, 'immediate');
  });

  test('auto picks by the program of the command, else readline', () => {
    const auto = (command?: string) => set.resolve('auto', command).name;
    assert.equal(auto('claude --dangerously-skip-permissions'), 'claude');
    assert.equal(auto('env FOO=1 /usr/local/bin/codex'), 'codex');
    assert.equal(auto('exec gemini'), 'gemini');
    assert.equal(auto('qwen'), 'qwen');
    assert.equal(auto('opencode'), 'opencode');
    assert.equal(auto('bash'), 'shell');
    assert.equal(auto('node demo-agent'), 'readline');
    assert.equal(auto(undefined), 'readline');
    assert.equal(set.resolve(undefined, 'claude').name, 'claude');
    assert.equal(set.resolve('codex', 'claude').name, 'codex', 'a named profile wins over the command');
    assert.throws(() => set.resolve('nope', 'claude'), (e: Error) => e instanceof UsageError && /Unknown profile `nope`/.test(e.message));
  });

  test('a topology changes a built-in or adds one that extends it; bad fields are errors naming them', () => {
    const custom = new ProfileSet({ claude: { submit_delay: 800 }, 'my-claude': { extends: 'claude', programs: ['claude-wrapper'], screen: { busy: ['Working'] } } });
    assert.equal(custom.get('claude')!.submit_delay, 800);
    assert.equal(custom.resolve('auto', 'claude-wrapper --x').name, 'my-claude');
    assert.deepEqual(custom.get('my-claude')!.screen!.busy, ['Working']);
    assert.deepEqual(custom.get('my-claude')!.screen!.pasted, set.get('claude')!.screen!.pasted, 'the rest of the screen patterns come from the base');
    assert.deepEqual(Object.keys(custom.overrides), ['claude', 'my-claude']);
    assert.throws(() => new ProfileSet({ fresh: { submit_delay: 1 } }), /a new profile needs `extends:`/);
    assert.throws(() => new ProfileSet({ x: { extends: 'nope' } }), /extends unknown profile `nope`/);
    assert.throws(() => new ProfileSet({ claude: { submit_key: 'hello world' } }), /submit_key: expected a key name/);
    assert.throws(() => new ProfileSet({ claude: { screen: { busy: ['(unclosed'] } } }), /screen.busy: not a regular expression/);
    assert.throws(() => new ProfileSet({ auto: { extends: 'claude' } }), /Expected a profile name/);
  });
});

describe('profiles in a topology', () => {
  const parse = (yaml: string) => parseTopology(yaml, '/team/team.yaml');
  const base = (pane: string) => `profiles:\n  claude: { submit_delay: 600ms }\n  slow: { extends: codex, verify_ms: 3s }\nsessions:\n  - name: s\n    windows:\n      - name: w\n        panes:\n${pane}`;

  test('profile: auto by command, a named one, and what the file sets itself winning over the profile', () => {
    const team = parse(base([
      '          - { name: a, command: claude }',
      '          - { name: b, command: my-codex-wrapper, profile: slow }',
      '          - { name: c, command: claude, multiline: join, policy: immediate, submit_delay: 50ms }',
      '          - { name: d, command: node demo-agent }',
    ].join('\n')));
    const agent = (name: string) => team.agents.find((a) => a.name === name)!;
    assert.deepEqual([agent('a').profile, agent('a').submit_delay, agent('a').multiline, agent('a').policy], ['claude', 600, 'keep', 'when-idle']);
    assert.deepEqual([agent('b').profile, agent('b').submit_delay], ['slow', 300]);
    assert.deepEqual([agent('c').profile, agent('c').submit_delay, agent('c').multiline, agent('c').policy], ['claude', 50, 'join', 'immediate']);
    assert.deepEqual([agent('d').profile, agent('d').submit_delay, agent('d').multiline, agent('d').policy], ['readline', 40, 'join', 'immediate']);
    assert.equal(team.profiles.get('slow')!.verify_ms, 3000);
  });

  test('errors name the file, the line and the field', () => {
    assert.throws(() => parse(base('          - { name: a, profile: nope }')), /team\.yaml:\d+: sessions\[0\]\.windows\[0\]\.panes\[0\]\.profile: Unknown profile `nope`/);
    assert.throws(() => parse(base('          - { name: a, policy: sometimes }')), /panes\[0\]\.policy: expected one of when-idle, immediate/);
    assert.throws(() => parse('profiles:\n  claude: { screen: { busy: "(" } }\nsessions: []\n'), /team\.yaml:2: profiles\.claude\.screen\.busy\[0\]: not a regular expression/);
    assert.throws(() => parse('profiles:\n  claude: { colour: red }\nsessions: []\n'), /profiles\.claude\.colour: unknown field/);
    assert.throws(() => parse('profiles:\n  new-one: { submit_delay: 1s }\nsessions: []\n'), /profiles\.new-one: a new profile needs `extends:`/);
  });
});

describe('bmad-bus profiles and agents add --profile', () => {
  test('list, show, --json, a topology file, and errors', async () => {
    const list = await cli(['profiles']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^PROFILE\s+PROGRAMS\s+SUBMIT/);
    assert.match(list.stdout, /\nclaude\s+claude,claude-code\s+Enter\s+300ms\s+keep\s+when-idle\s+claude\s+Claude Code/);
    const json = JSON.parse((await cli(['profiles', 'list', '--json'])).stdout) as Array<{ name: string }>;
    assert.equal(json.length, 7);
    const show = await cli(['profiles', 'show', 'gemini']);
    assert.match(show.stdout, /submit: Enter 300 ms after the paste/);
    assert.match(show.stdout, /pasted: \/\\\[Pasted Text/);
    assert.equal(JSON.parse((await cli(['profiles', 'show', 'codex', '--json'])).stdout).name, 'codex');
    const missing = await cli(['profiles', 'show', 'nope']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^bmad-bus: Unknown profile `nope` \(see `bmad-bus profiles`\)\n$/);
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'team.yaml');
      fs.writeFileSync(file, 'profiles:\n  mine: { extends: claude, submit_delay: 1s }\nsessions:\n  - name: s\n    windows: [{ name: w, command: claude }]\n');
      assert.match((await cli(['profiles', '--file', file])).stdout, /\nmine\s+-\s+Enter\s+1000ms/);
    } finally {
      cleanup();
    }
  });

  test('agents add records --profile, --policy and --multiline; an unknown profile is refused', async () => {
    const { root, cleanup } = tempRoot();
    try {
      const added = await cli(['--dir', root, 'agents', 'add', 'dev-1', '--profile', 'claude', '--policy', 'immediate', '--multiline', 'join', '--json']);
      assert.equal(added.code, 0, added.stderr);
      const record = JSON.parse(added.stdout);
      assert.deepEqual([record.profile, record.policy, record.multiline], ['claude', 'immediate', 'join']);
      const auto = JSON.parse((await cli(['--dir', root, 'agents', 'add', 'dev-2', '--json'])).stdout);
      assert.equal(auto.profile, undefined, 'auto is not written down: it follows the command');
      const bad = await cli(['--dir', root, 'agents', 'add', 'dev-3', '--profile', 'nope']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /Unknown profile `nope`/);
      const badPolicy = await cli(['--dir', root, 'agents', 'add', 'dev-3', '--policy', 'later']);
      assert.equal(badPolicy.code, 2);
    } finally {
      cleanup();
    }
  });
});
