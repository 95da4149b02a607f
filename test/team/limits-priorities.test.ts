import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { Layout } from '../../src/bus/layout.js';
import { readRegistry } from '../../src/bus/registry.js';
import { MonitorSampler } from '../../src/team/monitor-snapshot.js';
import { renderMonitor } from '../../src/team/monitor-view.js';
import { readProcessTree } from '../../src/team/proc-stats.js';
import type { Supervisor, SupervisorEvent } from '../../src/team/supervisor.js';
import { addTask } from '../../src/team/tasks.js';
import { readTeamState } from '../../src/team/team-state.js';
import { cli, waitFor } from '../helpers/bus.js';
import { TmuxBed } from '../helpers/tmux.js';
import { agentDefaults, agentsStarted, librarySupervisor, passes, writeTeam } from './supervisor-helpers.js';

const TIERS = `
sessions:
  - name: orch
    tier: orchestrator
    windows: [{ name: o, panes: [{ name: orchestrator, role: orchestrator }] }]
  - name: web
    project: web
    windows: [{ name: d, panes: [{ name: dev-1, type: dev }] }]
  - name: support
    tier: support
    windows: [{ name: m, panes: [{ name: mon, type: monitor }] }, { name: l, panes: [{ name: logger, type: logger }] }]
`;

describe('session_limits: `up` over max_total is refused before anything is created', () => {
  const bed = new TmuxBed();
  before(() => bed.start());
  after(() => bed.close());

  it('exit 2, one clear line, no session, no agent, no team record', async () => {
    const file = writeTeam(bed.dir, `name: big\n${agentDefaults(bed.dir)}\nresource_management: { session_limits: { max_total: 3 } }\n${TIERS}`);
    const result = await cli(['up', file, '--no-router', ...bed.base]);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stderr.trim(), `bmad-bus: Refusing up of ${file}: it would make 4 agents, more than resource_management.session_limits.max_total 3; nothing was created`);
    assert.deepEqual(bed.tmux.run(['list-sessions', '-F', '#{session_name}']).split('\n'), ['bystander']);
    const layout = new Layout(bed.root);
    assert.deepEqual(Object.keys(readRegistry(layout).agents), []);
    assert.deepEqual(readTeamState(layout).teams, {});
  });
});

describe('priorities: the nice values of the agents\' process trees match their tiers; status and monitor show the limits', () => {
  const bed = new TmuxBed();
  const { tmux, dir, root, base } = bed;
  const layout = new Layout(root);
  let seen: SupervisorEvent[] = [];
  let supervisor: Supervisor | undefined;

  before(async () => {
    bed.start();
    const file = writeTeam(dir, `
name: tiers
${agentDefaults(dir)}
supervisor: { health_interval: 200ms, backoff: 100ms }
resource_management:
  session_limits: { max_total: 6, max_per_project: 2 }
  priorities: { orchestrator: highest, monitor: high, development: normal, support: low }
scaling_rules:
  interval: 300ms
  scale_up:
    triggers: [{ metric: task_queue_length, threshold: 0, action: spawn_dev_agent }]
    limits: { max_agents_per_type: { dev: 5 } }
templates:
  dev: { session: web, project: web, role: dev, command: node agent.mjs }
${TIERS}`);
    await bed.up(file);
    await agentsStarted(dir, ['orchestrator', 'dev-1', 'mon', 'logger']);
    ({ supervisor, seen } = librarySupervisor(bed, file, { schedule: false, restoreSettleMs: 100 }));
  });
  after(() => bed.close());

  const niceOf = async (name: string): Promise<number[]> => {
    const pane = readRegistry(layout).agents[name]!.tmux!;
    return readProcessTree(tmux.panePid(pane)).map((p) => os.getPriority(p.pid));
  };

  it('after `up`: highest 0 (the user\'s default), high 5, normal 10, low 15, on every process of each tree', async () => {
    assert.deepEqual(await niceOf('orchestrator'), [0]);
    assert.deepEqual(await niceOf('mon'), [5], 'by type before tier');
    assert.deepEqual(await niceOf('dev-1'), [10], 'development is the project tier');
    assert.deepEqual(await niceOf('logger'), [15]);
    assert.equal(readRegistry(layout).agents.logger!.priority, 'low');
  });

  it('a restarted agent gets its nice value again (from the supervisor), with a priority event', async () => {
    await supervisor!.start();
    const pane = readRegistry(layout).agents.logger!.tmux!;
    tmux.run(['respawn-pane', '-k', '-t', pane, 'node agent.mjs']);
    await waitFor(async () => (await niceOf('logger'))[0] === 15 && seen.some((e) => e.event === 'priority' && e.agent === 'logger'), 10_000, 'logger niced again');
    assert.deepEqual(seen.find((e) => e.event === 'priority' && e.agent === 'logger'), { event: 'priority', agent: 'logger', level: 'low', nice: 15, processes: 1 });
  });

  it('scaling stops at max_per_project: one more dev, then limit_refused (once); status and monitor show the counts', async () => {
    for (let i = 0; i < 3; i++) await addTask(layout, { title: `work ${i}`, role: 'dev' });
    await waitFor(() => seen.some((e) => e.event === 'limit_refused'), 15_000, 'limit_refused');
    await passes(supervisor!, 5);
    assert.equal(seen.filter((e) => e.event === 'scale_up').length, 1, 'one spawn: 2 agents in project web');
    assert.deepEqual(seen.filter((e) => e.event === 'limit_refused'), [
      { event: 'limit_refused', what: 'scale_up', limit: 'max_per_project', count: 3, max: 2, project: 'web' },
    ]);
    const webAgents = Object.values(readRegistry(layout).agents).filter((a) => a.project === 'web');
    assert.equal(webAgents.length, 2);
    await waitFor(async () => (await niceOf(webAgents.find((a) => a.name !== 'dev-1')!.name))[0] === 10, 10_000, 'the scaled dev is normal: 10');

    const status = await cli(['status', ...base]);
    assert.match(status.stdout, /^limits {4}tiers: agents 5\/6 · project web 2\/2$/m);
    const json = JSON.parse((await cli(['status', '--json', ...base])).stdout) as { teams: unknown[] };
    assert.deepEqual(json.teams, [{ file: `${dir}/team.yaml`, name: 'tiers', agents: 5, max_total: 6, projects: { web: { count: 2, max: 2 } } }]);
    const snapshot = await new MonitorSampler(layout, { socket: tmux.socket }).snapshot();
    assert.deepEqual(snapshot.limits, ['tiers: agents 5/6 · project web 2/2']);
    const frame = renderMonitor(snapshot, { width: 120, height: 30 }).join('\n');
    assert.match(frame, /Agents \(5\) · limits tiers: agents 5\/6 · project web 2\/2/);
  });

  it('the supervisor handles the agents of each pass highest first, whatever their order in the registry', async () => {
    await supervisor!.close();
    // Passes only when asked, and idle after 1 ms: the second pass finds every agent idle, in the order it handles them.
    const manual = librarySupervisor(bed, `${dir}/team.yaml`, { schedule: false, intervalMs: 600_000, scalingIntervalMs: 600_000, idleTimeoutMs: 1 });
    await manual.supervisor.start();
    const names = Object.keys(readRegistry(layout).agents);
    assert.deepEqual(names.slice(0, 4), ['orchestrator', 'dev-1', 'mon', 'logger'], 'registry order: as up registered them');
    await new Promise((resolve) => setTimeout(resolve, 20));
    await manual.supervisor.runPass();
    // An idle scaled agent is stopped instead (cleanup).
    const handled = manual.seen.filter((e) => e.event === 'idle' || e.event === 'scale_down').map((e) => e.agent);
    const scaledDev = names.find((n) => n.startsWith('dev-web-'))!;
    assert.deepEqual(handled, ['orchestrator', 'mon', 'dev-1', scaledDev, 'logger'], 'highest, high, normal (registry order among them), low');
  });
});
