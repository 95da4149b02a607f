import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Layout } from '../../src/bus/layout.js';
import { readRegistry } from '../../src/bus/registry.js';
import type { Supervisor, SupervisorEvent } from '../../src/team/supervisor.js';
import { addTask } from '../../src/team/tasks.js';
import { cli, waitFor } from '../helpers/bus.js';
import { TmuxBed } from '../helpers/tmux.js';
import { agentDefaults, agentLog, agentsStarted, librarySupervisor, passes, writeTeam } from './supervisor-helpers.js';

describe('cleanup: idle_timeout stops an idle scaled agent, and a topology agent with action stop', () => {
  const bed = new TmuxBed();
  const { tmux, dir, root } = bed;
  const layout = new Layout(root);
  let seen: SupervisorEvent[] = [];
  let supervisor: Supervisor | undefined;

  before(async () => {
    bed.start();
    const file = writeTeam(dir, `
name: tidy
${agentDefaults(dir)}
supervisor: { health_interval: 200ms }
resource_management:
  cleanup: { idle_timeout: 1500ms, action: stop }
scaling_rules:
  interval: 10m
  scale_up:
    triggers: [{ metric: task_queue_length, threshold: 0, action: spawn_helper_agent }]
templates:
  helper: { session: tidy, role: helper, command: node agent.mjs }
sessions:
  - name: tidy
    windows: [{ name: one, panes: [{ name: worker, role: dev }] }]
`);
    await bed.up(file);
    await agentsStarted(dir, ['worker']);
    await addTask(layout, { title: 'help', role: 'helper' });
    ({ supervisor, seen } = librarySupervisor(bed, file, { schedule: false }));
    await supervisor.start();
  });
  after(() => bed.close());

  it('the scaled helper is scaled down (metric idle_timeout); the worker is stopped, its processes ended, and not restarted', async () => {
    const scaled = await waitFor(() => seen.find((e) => e.event === 'scale_up'), 10_000, 'a helper');
    const pane = readRegistry(layout).agents.worker!.tmux!;
    const down = await waitFor(() => seen.find((e) => e.event === 'scale_down'), 15_000, 'the helper scaled down');
    assert.ok(down.event === 'scale_down' && down.agent === scaled.agent && down.metric === 'idle_timeout' && down.threshold === 1500, JSON.stringify(down));
    const stopped = await waitFor(() => seen.find((e) => e.event === 'stopped'), 15_000, 'the worker stopped');
    assert.equal(stopped.agent, 'worker');
    await waitFor(() => tmux.run(['display-message', '-p', '-t', pane, '#{pane_dead}']) === '1', 10_000, 'its program ended');
    await passes(supervisor!, 5);
    assert.equal(readRegistry(layout).agents.worker!.status, 'stopped');
    assert.equal(agentLog(dir, 'worker').filter((l) => l === 'START').length, 1, 'not restarted');
    assert.ok(!seen.some((e) => e.event === 'restart' || e.event === 'failure'), JSON.stringify(seen));
    assert.equal(seen.filter((e) => e.event === 'stopped').length, 1);
    assert.equal(readRegistry(layout).agents[scaled.agent!], undefined);
  });
});

describe('session_limits: restore of a checkpoint over its topology\'s limits is refused before anything is created', () => {
  const bed = new TmuxBed();
  const { tmux, dir, base } = bed;
  const env = { BMAD_CHECKPOINT_DIR: path.join(dir, 'checkpoints') };
  let file = '';

  before(async () => {
    bed.start();
    file = writeTeam(dir, `
name: pair
${agentDefaults(dir)}
resource_management: { session_limits: { max_total: 2 } }
sessions:
  - name: pair
    windows: [{ name: one, panes: [{ name: a1, role: dev }] }, { name: two, panes: [{ name: a2, role: dev }] }]
`);
    await bed.up(file, { env });
    await agentsStarted(dir, ['a1', 'a2']);
  });
  after(() => bed.close());

  it('checkpoint, down, max_total lowered to 1: restore exits 2 with one line, no session, no agent', async () => {
    const written = await cli(['checkpoint', ...base], { env });
    assert.equal(written.code, 0, written.stderr);
    assert.equal((await cli(['down', file, ...base], { env })).code, 0);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('max_total: 2', 'max_total: 1'));
    const restored = await cli(['restore', written.stdout.trim(), ...base], { env, timeoutMs: 60_000 });
    assert.equal(restored.code, 2, restored.stderr);
    assert.match(restored.stderr, /Refusing restore of .*: it would make 2 agents, more than resource_management\.session_limits\.max_total 1; nothing was created/);
    assert.deepEqual(tmux.sessions(), ['bystander']);
    assert.deepEqual(Object.keys(readRegistry(new Layout(bed.root)).agents), []);
  });
});
