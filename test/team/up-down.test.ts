import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Layout } from '../../src/bus/layout.js';
import { readRegistry } from '../../src/bus/registry.js';
import { cli } from '../helpers/bus.js';
import { TmuxBed } from '../helpers/tmux.js';

const FIXTURE = `
name: fixture
defaults:
  command: cat
  submit_delay: 10ms
agent_groups:
  qa_team:
    leader: qa-webrtc-epic36-1
    members: [qa-webrtc-epic36-1, qa-webrtc-epic36-2]
sessions:
  - name: fx-orchestrator
    tier: orchestrator
    windows:
      - name: context
        panes:
          - { name: orchestrator, type: context-manager, role: orchestrator }
  - name: fx-project
    project: webrtc
    epic: epic36
    windows:
      - name: scrum
        type: sm
        role: scrum-master
      - name: dev
        layout: development
        panes:
          - { type: dev, env: { FEATURE: webrtc } }
      - name: qa
        layout: even-horizontal
        panes:
          - { type: qa }
          - { type: qa }
  - name: fx-support
    windows:
      - name: dashboard
        layout: monitoring
        panes:
          - { type: monitor }
`;

describe('tmux up / down', () => {
  const bed = new TmuxBed();
  const { tmux, root, base } = bed;
  const file = path.join(bed.dir, 'team.yaml');

  before(() => {
    bed.start();
    fs.writeFileSync(file, FIXTURE);
  });
  after(() => bed.close());

  const panes = (): string[] =>
    tmux.run(['list-panes', '-a', '-F', '#{session_name}:#{window_name}.#{pane_index} #{@bmad_agent} #{pane_dead}']).split('\n').sort();

  it('--dry-run prints the commands and changes nothing', async () => {
    const result = await cli(['up', file, '--dry-run', ...base]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^tmux -L \S+ new-session -d .*-s fx-orchestrator/m);
    assert.match(result.stdout, /select-layout -t @new\d+ main-vertical/);
    assert.deepEqual(tmux.sessions(), ['bystander']);
  });

  it('builds exactly the sessions, windows, panes and layouts of the file and registers the agents', async () => {
    const result = await cli(['up', file, '--no-router', '--json', ...base]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(tmux.sessions(), ['bystander', 'fx-orchestrator', 'fx-project', 'fx-support']);
    assert.deepEqual(panes().filter((p) => p.startsWith('fx-')), [
      'fx-orchestrator:context.0 orchestrator 0',
      'fx-project:dev.0 dev-webrtc-epic36-1 0',
      'fx-project:dev.1  0',
      'fx-project:dev.2  0',
      'fx-project:qa.0 qa-webrtc-epic36-1 0',
      'fx-project:qa.1 qa-webrtc-epic36-2 0',
      'fx-project:scrum.0 sm-webrtc-epic36-1 0',
      'fx-support:dashboard.0 monitor-global-1 0',
      'fx-support:dashboard.1  0',
      'fx-support:dashboard.2  0',
      'fx-support:dashboard.3  0',
    ]);
    // development: main pane 70 % wide on the left, two panes stacked on the right.
    const geometry = (target: string) =>
      tmux.run(['list-panes', '-t', target, '-F', '#{pane_left} #{pane_top} #{pane_width} #{window_width}']).split('\n').map((l) => l.split(' ').map(Number));
    const dev = geometry('fx-project:dev');
    assert.equal(dev[0]![0], 0);
    assert.ok(Math.abs(dev[0]![2]! / dev[0]![3]! - 0.7) < 0.02, `main pane is 70 %: ${dev[0]}`);
    assert.equal(dev[1]![0], dev[2]![0]);
    assert.ok(dev[1]![0]! > dev[0]![2]!);
    assert.ok(dev[2]![1]! > dev[1]![1]!);
    const qa = geometry('fx-project:qa');
    assert.equal(qa[0]![1], qa[1]![1]);
    assert.ok(qa[1]![0]! > qa[0]![0]!);
    const dash = geometry('fx-support:dashboard');
    assert.equal(new Set(dash.map((p) => p[0])).size, 2);
    assert.equal(new Set(dash.map((p) => p[1])).size, 2);
    // The commands run, and a crashed agent's pane would stay visible.
    assert.equal(tmux.run(['display-message', '-p', '-t', 'fx-project:qa.1', '#{pane_current_command}']), 'cat');
    assert.equal(tmux.run(['show-options', '-wv', '-t', 'fx-project:qa', 'remain-on-exit']), 'on');

    const registry = readRegistry(new Layout(root));
    assert.deepEqual(Object.keys(registry.agents).sort(), [
      'dev-webrtc-epic36-1', 'monitor-global-1', 'orchestrator', 'qa-webrtc-epic36-1', 'qa-webrtc-epic36-2', 'sm-webrtc-epic36-1',
    ]);
    const dev1 = registry.agents['dev-webrtc-epic36-1']!;
    assert.equal(dev1.tmux, tmux.run(['display-message', '-p', '-t', 'fx-project:dev.0', '#{pane_id}']));
    assert.equal(dev1.tmux_socket, tmux.socket);
    assert.equal(dev1.deliver, 'tmux');
    assert.equal(dev1.submit_delay, 10);
    assert.equal(dev1.command, 'cat');
    assert.equal(dev1.owner, file);
    assert.deepEqual(dev1.env, { FEATURE: 'webrtc' });
    assert.equal(registry.agents['sm-webrtc-epic36-1']!.role, 'scrum-master');
    assert.deepEqual(registry.groups.qa_team, { leader: 'qa-webrtc-epic36-1', members: ['qa-webrtc-epic36-1', 'qa-webrtc-epic36-2'] });
    const env = tmux.run(['show-environment', '-t', 'fx-project']);
    assert.ok(!env.includes('BMAD_AGENT=dev'), 'agent variables are per pane, not per session');
  });

  it('a second up creates nothing', async () => {
    const before = panes();
    const result = await cli(['up', file, '--no-router', '--json', ...base]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).created, { sessions: [], windows: [], panes: [] });
    assert.deepEqual(panes(), before);
  });

  it('up recreates only a pane that went missing', async () => {
    tmux.run(['kill-pane', '-t', 'fx-project:qa.1']);
    const result = await cli(['up', file, '--no-router', '--json', ...base]);
    assert.equal(result.code, 0, result.stderr);
    const created = JSON.parse(result.stdout).created;
    assert.equal(created.panes.length, 1);
    assert.deepEqual(created.sessions, []);
    const registry = readRegistry(new Layout(root));
    assert.equal(registry.agents['qa-webrtc-epic36-2']!.tmux, created.panes[0]);
  });

  it('capture prints the pane of an agent', async () => {
    tmux.run(['send-keys', '-t', 'fx-project:scrum.0', '-l', 'hello from the test']);
    const result = await cli(['capture', 'sm-webrtc-epic36-1', '-n', '5', ...base]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /hello from the test/);
    const all = await cli(['capture', 'qa-webrtc-epic36-1', '--all', ...base]);
    assert.match(all.stdout, /=== \d+:scrum\.0 %\d+ sm-webrtc-epic36-1 \(cat\) ===/);
  });

  it('down removes only the sessions up made; an unrelated session survives', async () => {
    tmux.run(['new-session', '-d', '-s', 'fx-unrelated']);
    const result = await cli(['down', file, '--json', ...base]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).killedSessions.sort(), ['fx-orchestrator', 'fx-project', 'fx-support']);
    assert.deepEqual(tmux.sessions(), ['bystander', 'fx-unrelated']);
    assert.deepEqual(Object.keys(readRegistry(new Layout(root)).agents), []);
  });

  it('down never kills a session it did not create, only the windows it added there', async () => {
    tmux.run(['new-session', '-d', '-s', 'fx-project', '-n', 'mine']);
    assert.equal((await cli(['up', file, '--no-router', ...base])).code, 0);
    assert.equal((await cli(['down', ...base])).code, 0);
    assert.deepEqual(tmux.sessions(), ['bystander', 'fx-project', 'fx-unrelated']);
    assert.equal(tmux.run(['list-windows', '-t', 'fx-project', '-F', '#{window_name}']), 'mine');
  });
});
