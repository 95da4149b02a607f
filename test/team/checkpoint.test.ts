import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Layout } from '../../src/bus/layout.js';
import { readRegistry } from '../../src/bus/registry.js';
import { readLiveRouterStatus } from '../../src/router/router-status.js';
import { readCheckpoint } from '../../src/team/checkpoint.js';
import { cli, waitFor } from '../helpers/bus.js';
import { TmuxBed } from '../helpers/tmux.js';

// Agents run `cat` appending what they are typed to a log per agent: the log is
// what each agent received, across the checkpoint, the down and the restore.
const FIXTURE = `
name: ckpt
defaults:
  command: 'cat >> "$LOG_DIR/$BMAD_AGENT.log"'
  submit_delay: 10ms
  restore_prompt: "restore-prompt: pick up where you left off"
sessions:
  - name: ck-main
    project: demo
    epic: e1
    windows:
      - name: work
        layout: even-horizontal
        cwd: ./work
        panes:
          - { type: dev, env: { LOG_DIR: "LOGS" } }
          - { title: helper, agent: false, command: 'sleep 600' }
      - name: qa
        type: qa
        cwd: ./qa
        env: { LOG_DIR: "LOGS" }
  - name: ck-ops
    windows:
      - name: ops
        type: ops
        env: { LOG_DIR: "LOGS" }
`;

const DEV = 'dev-demo-e1-1';

describe('checkpoint, down, restore', () => {
  const bed = new TmuxBed();
  const { tmux, dir, root, base } = bed;
  const logs = path.join(dir, 'logs');
  const state = path.join(dir, 'state');
  const file = path.join(dir, 'team.yaml');
  const env = { XDG_STATE_HOME: state, BMAD_CHECKPOINT_DIR: '' };
  const layout = new Layout(root);
  let checkpointFile = '';

  before(() => {
    bed.start();
    bed.onClose(async () => {
      if (readLiveRouterStatus(layout)) await cli(['stop', '--dir', root]);
    });
    for (const d of [logs, path.join(dir, 'work'), path.join(dir, 'qa')]) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(file, FIXTURE.replaceAll('LOGS', logs));
  });
  after(() => bed.close());

  const log = (agent: string) => {
    try {
      return fs.readFileSync(path.join(logs, `${agent}.log`), 'utf8');
    } catch {
      return '';
    }
  };
  /** Per pane of our sessions: where it is, its geometry, cwd, what runs, the agent tag. */
  const panes = () =>
    tmux
      .run(['list-panes', '-a', '-F', '#{session_name}:#{window_index}:#{window_name}.#{pane_index} #{pane_left},#{pane_top},#{pane_width}x#{pane_height} #{pane_current_path} #{pane_current_command} #{@bmad_agent}'])
      .split('\n')
      .filter((l) => l.startsWith('ck-'))
      .sort();

  it('checkpoints a live team into a private directory', async () => {
    await bed.up(file, { args: [], env });
    for (let i = 1; i <= 3; i++) assert.equal((await cli(['send', DEV, `before-${i}`, ...base])).code, 0);
    await waitFor(() => log(DEV).includes('before-3'), 15_000, 'the first messages');
    // The router's own view says everything was handed over (its status is what a checkpoint reads).
    await waitFor(() => readLiveRouterStatus(layout)?.agents[DEV]?.undelivered === 0, 10_000, 'delivery to settle');

    const result = await cli(['checkpoint', ...base], { env });
    assert.equal(result.code, 0, result.stderr);
    checkpointFile = result.stdout.trim();
    const dir = path.join(state, 'bmad-bus', 'checkpoints');
    assert.equal(path.dirname(checkpointFile), dir);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(checkpointFile).mode & 0o777, 0o600);

    const checkpoint = readCheckpoint(checkpointFile);
    assert.equal(checkpoint.version, 1);
    assert.equal(checkpoint.topology, file);
    assert.deepEqual(checkpoint.sessions.map((s) => s.name), ['ck-main', 'ck-ops']);
    const work = checkpoint.sessions[0]!.windows[0]!;
    assert.equal(work.name, 'work');
    assert.match(work.layout, /^[0-9a-f]{4},\d+x\d+,/);
    assert.equal(work.panes.length, 2);
    assert.equal(work.panes[0]!.agent, DEV);
    assert.equal(work.panes[0]!.command, 'cat >> "$LOG_DIR/$BMAD_AGENT.log"');
    assert.equal(work.panes[0]!.env.LOG_DIR, logs);
    assert.equal(work.panes[0]!.env.BMAD_AGENT, DEV);
    assert.equal(work.panes[0]!.cwd, path.join(bed.dir, 'work'));
    assert.equal(work.panes[1]!.command, 'sleep 600');
    assert.deepEqual(Object.keys(checkpoint.agents).sort(), [DEV, 'ops-global-1', 'qa-demo-e1-1']);
    assert.equal(typeof checkpoint.cursors[`tmux:${DEV}`], 'number');

    const list = await cli(['checkpoints', '--json', ...base], { env });
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual((JSON.parse(list.stdout) as Array<{ file: string }>).map((c) => c.file), [checkpointFile]);
  });

  it('restore brings the same panes, layouts, cwd and commands back, and delivery resumes with nothing lost', async () => {
    const before = panes();
    assert.equal(before.length, 4);

    // Router and supervisor stopped too (a reboot): restore must start them again.
    assert.equal((await cli(['stop', '--dir', root])).code, 0);
    const down = await cli(['down', file, ...base]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(tmux.sessions(), ['bystander']);
    // Sent while the team is down: the journal keeps them for the agent.
    for (let i = 1; i <= 2; i++) assert.equal((await cli(['send', DEV, `while-down-${i}`, ...base])).code, 0);

    const restored = await cli(['restore', checkpointFile, ...base], { env, timeoutMs: 60_000 });
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /restored 2 sessions/);
    assert.match(restored.stdout, /router started/);
    assert.deepEqual(tmux.sessions(), ['bystander', 'ck-main', 'ck-ops']);
    await waitFor(() => panes().join('\n') === before.join('\n'), 10_000, `the same panes\n${before.join('\n')}\n---\n${panes().join('\n')}`);

    // The agents are registered with their new panes.
    const registry = readRegistry(layout);
    const devPane = tmux.run(['display-message', '-p', '-t', 'ck-main:work.0', '#{pane_id}']);
    assert.equal(registry.agents[DEV]?.tmux, devPane);

    // The restore prompt first, then what was sent while down; nothing delivered before the checkpoint comes twice.
    await waitFor(() => log(DEV).includes('while-down-2'), 20_000, `the messages sent while down\n${log(DEV)}`);
    const text = log(DEV);
    const at = (s: string) => text.indexOf(s);
    assert.ok(at('restore-prompt') > at('before-3'), text);
    assert.ok(at('while-down-1') > at('restore-prompt'), text);
    assert.ok(at('while-down-2') > at('while-down-1'), text);
    for (const s of ['before-1', 'before-2', 'before-3', 'while-down-1', 'while-down-2']) assert.equal(text.split(s).length - 1, 1, `${s} once in\n${text}`);
    await waitFor(() => log('qa-demo-e1-1').includes('restore-prompt'), 10_000, 'the qa agent prompt');

    // And the bus works on: a new message arrives too.
    assert.equal((await cli(['send', DEV, 'after-restore', ...base])).code, 0);
    await waitFor(() => log(DEV).includes('after-restore'), 15_000, 'a message after the restore');
  });

  it('refuses to restore over existing sessions, unless --force', async () => {
    const again = await cli(['restore', checkpointFile, ...base], { env });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /ck-main, ck-ops already exist.*--force/);
    const forced = await cli(['restore', 'latest', '--force', '--no-prompt', ...base], { env, timeoutMs: 60_000 });
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(tmux.sessions(), ['bystander', 'ck-main', 'ck-ops']);
    assert.equal(readRegistry(layout).agents[DEV]?.tmux, tmux.run(['display-message', '-p', '-t', 'ck-main:work.0', '#{pane_id}']));
    // Stopped first: a supervisor could otherwise restart a pane between down's kill and its unregistering.
    assert.equal((await cli(['stop', '--dir', root])).code, 0);
    const down = await cli(['down', file, ...base]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(tmux.sessions(), ['bystander']);
  });
});
