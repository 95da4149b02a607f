import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addTask } from '../../src/team/tasks.js';
import { Layout } from '../../src/bus/layout.js';
import type { Supervisor, SupervisorEvent } from '../../src/team/supervisor.js';
import { waitFor } from '../helpers/bus.js';
import { TmuxBed } from '../helpers/tmux.js';
import { agentDefaults, agentLog, agents, agentsStarted, events, librarySupervisor, passes, writeTeam } from './supervisor-helpers.js';

// The error table, each handler triggered for real on a private tmux server (permission_denied: error-permissions.test.ts).
const starts = (dir: string, name: string) => agentLog(dir, name).filter((l) => l === 'START').length;
const after_ = (seen: SupervisorEvent[], first: SupervisorEvent, pred: (e: SupervisorEvent) => boolean) => seen.slice(seen.indexOf(first) + 1).find(pred);

describe('session_died: a killed pane is a failure the table restarts; with `report` it is only told', () => {
  const bed = new TmuxBed();
  const { tmux, dir, base } = bed;
  let seen: SupervisorEvent[] = [];
  let supervisor: Supervisor | undefined;

  before(async () => {
    bed.start();
    const file = writeTeam(dir, `
name: died
${agentDefaults(dir)}
supervisor: { health_interval: 200ms, backoff: 100ms }
sessions:
  - name: died
    windows:
      - { name: one, panes: [{ name: alpha, role: dev }] }
      - { name: two, panes: [{ name: beta, role: qa }] }
`);
    await bed.up(file);
    await agentsStarted(dir, ['alpha', 'beta']);
    ({ supervisor, seen } = librarySupervisor(bed, file, { schedule: false, restoreSettleMs: 100 }));
    await supervisor.start();
  });
  after(() => bed.close());

  it('kill-pane: failure (session_died, handler restart), then restart through the single restart path, in a new pane', async () => {
    const pane = (await agents(base)).alpha!.tmux!;
    tmux.run(['kill-pane', '-t', pane]);
    const failure = await waitFor(() => seen.find((e) => e.event === 'failure' && e.agent === 'alpha'), 10_000, 'failure event');
    assert.deepEqual(failure, { event: 'failure', kind: 'session_died', handler: 'restart', detail: 'pane missing', agent: 'alpha' });
    const restart = await waitFor(() => after_(seen, failure, (e) => e.event === 'restart' && e.agent === 'alpha'), 10_000, 'restart after the failure');
    assert.equal(restart.event === 'restart' && restart.pane, 'missing');
    await waitFor(() => starts(dir, 'alpha') === 2, 10_000, 'alpha started again');
    assert.notEqual((await agents(base)).alpha!.tmux, pane, 'a new pane');
    assert.equal(starts(dir, 'beta'), 1, 'beta untouched');
    const onBus = await waitFor(async () => events(await bed.journal(), 'failure').find((e) => e.agent === 'alpha'), 10_000, 'the failure on the bus');
    assert.equal(onBus.kind, 'session_died');
  });
});

describe('session_died with error_handling report', () => {
  const bed = new TmuxBed();
  const { tmux, dir, base } = bed;
  let seen: SupervisorEvent[] = [];
  let supervisor: Supervisor | undefined;

  before(async () => {
    bed.start();
    const file = writeTeam(dir, `
name: reported
${agentDefaults(dir)}
supervisor: { health_interval: 200ms, backoff: 100ms }
error_handling: { session_died: report }
sessions:
  - name: reported
    windows: [{ name: one, panes: [{ name: gamma, role: dev }] }]
`);
    await bed.up(file);
    await agentsStarted(dir, ['gamma']);
    ({ supervisor, seen } = librarySupervisor(bed, file, { schedule: false }));
    await supervisor.start();
  });
  after(() => bed.close());

  it('the death is told once, the agent marked dead, nothing restarted', async () => {
    tmux.run(['kill-pane', '-t', (await agents(base)).gamma!.tmux!]);
    await waitFor(() => seen.some((e) => e.event === 'failure'), 10_000, 'failure event');
    await passes(supervisor!, 5);
    assert.deepEqual(seen.filter((e) => e.event === 'failure'), [{ event: 'failure', kind: 'session_died', handler: 'report', detail: 'pane missing', agent: 'gamma' }]);
    assert.equal(seen.filter((e) => e.event === 'restart').length, 0);
    assert.equal((await agents(base)).gamma!.status, 'dead');
    assert.equal(starts(dir, 'gamma'), 1);
  });
});

describe('out_of_memory: scale down the idlest scaled agent of the lowest priority, then restart', () => {
  const bed = new TmuxBed();
  const { tmux, dir, root, base } = bed;
  let seen: SupervisorEvent[] = [];
  let supervisor: Supervisor | undefined;
  const LIMIT_MB = 160;

  before(async () => {
    bed.start();
    const file = writeTeam(dir, `
name: oom
${agentDefaults(dir, { deliver: 'tmux' })}
supervisor: { health_interval: 200ms, backoff: 100ms }
resource_management:
  per_session: { memory: ${LIMIT_MB}MB }
  priorities: { hog: high, helper: low }
scaling_rules:
  interval: 10m
  scale_up:
    triggers: [{ metric: task_queue_length, threshold: 0, action: spawn_helper_agent }]
    limits: { max_agents_per_type: { helper: 1 } }
templates:
  helper: { session: oom, role: helper, command: node agent.mjs, env: { AGENT_MEMORY_LIMIT_MB: "${LIMIT_MB}" } }
sessions:
  - name: oom
    windows: [{ name: hog, panes: [{ name: hog, role: hog, env: { AGENT_MEMORY_LIMIT_MB: "${LIMIT_MB}" } }] }]
`);
    await bed.up(file);
    await bed.router();
    await agentsStarted(dir, ['hog']);
    // A ready task for the helper role makes scaling start one helper at its first pass (the scheduler is off: it keeps no task).
    await addTask(new Layout(root), { title: 'help', role: 'helper' });
    ({ supervisor, seen } = librarySupervisor(bed, file, { schedule: false, restoreSettleMs: 100 }));
    await supervisor.start();
    await waitFor(() => seen.find((e) => e.event === 'scale_up'), 15_000, 'a scaled helper');
    await agentsStarted(dir, ['helper-global-1']);
  });
  after(() => bed.close());

  const fill = async (line: string) => {
    tmux.run(['send-keys', '-t', (await agents(base)).hog!.tmux!, '-l', line]);
    tmux.run(['send-keys', '-t', (await agents(base)).hog!.tmux!, 'Enter']);
  };

  it('over its limit: failure, scale_down of the helper (metric out_of_memory), restart of the hog; with nothing left to stop, it says so', async () => {
    const pid = tmux.panePid((await agents(base)).hog!.tmux!);
    // It may be seen over the limit before it is done filling (and restarted before it says FILLED).
    await fill('FILL 130');
    const failure = await waitFor(() => seen.find((e) => e.event === 'failure' && e.kind === 'out_of_memory'), 15_000, 'out_of_memory');
    assert.equal(failure.event === 'failure' && failure.handler, 'scale_down_and_restart');
    assert.match(failure.event === 'failure' ? failure.detail : '', new RegExp(`^its processes use \\d+\\.\\d MiB, limit ${LIMIT_MB}\\.0 MiB$`));
    const down = await waitFor(() => after_(seen, failure, (e) => e.event === 'scale_down'), 10_000, 'scale_down');
    assert.ok(down.event === 'scale_down' && down.agent === 'helper-global-1' && down.metric === 'out_of_memory' && down.threshold === LIMIT_MB * 1024 * 1024, JSON.stringify(down));
    const restart = await waitFor(() => after_(seen, down, (e) => e.event === 'restart' && e.agent === 'hog'), 10_000, 'restart after the scale-down');
    assert.equal(restart.event === 'restart' && restart.reason, 'over its memory limit');
    await waitFor(async () => tmux.panePid((await agents(base)).hog!.tmux!) !== pid && starts(dir, 'hog') === 2, 15_000, 'a new hog');
    assert.equal((await agents(base))['helper-global-1'], undefined, 'the helper is gone from the registry');

    // Again, with no scaled agent left (scaling waits its 10 minutes): nothing_to_scale_down, and the restart all the same.
    const before = seen.length;
    await fill('FILL 130');
    const second = await waitFor(() => seen.slice(before).find((e) => e.event === 'nothing_to_scale_down'), 15_000, 'nothing_to_scale_down');
    assert.deepEqual(second, { event: 'nothing_to_scale_down', agent: 'hog', reason: 'no agent started by scaling is free to stop' });
    await waitFor(() => seen.slice(before).some((e) => e.event === 'restart' && e.agent === 'hog'), 10_000, 'the second restart');
    await waitFor(() => starts(dir, 'hog') === 3, 15_000, 'hog started a third time');
  });

  it('killed by SIGKILL near its limit: out_of_memory too (the OOM killer\'s way), not a plain death', async () => {
    await waitFor(async () => (await agents(base)).hog?.status === 'running', 10_000, 'hog running');
    const before = seen.length;
    const logged = agentLog(dir, 'hog').length;
    // 93 %: over the 80 % that counts as near, under the limit itself (1 MiB steps).
    await fill('FILL 93');
    await waitFor(() => agentLog(dir, 'hog').slice(logged).some((l) => l.startsWith('FILLED')), 15_000, 'filled to 93%')
      .catch(async (error: Error) => {
        throw new Error(`${error.message}; log ${agentLog(dir, 'hog').join('|')}; screen:\n${tmux.capture((await agents(base)).hog!.tmux!)}`);
      });
    await passes(supervisor!, 3); // sampled near the limit
    await fill('KILL');
    const failure = await waitFor(() => seen.slice(before).find((e) => e.event === 'failure'), 15_000, 'a failure');
    assert.equal(failure.event === 'failure' && failure.kind, 'out_of_memory', JSON.stringify(failure));
    assert.match(failure.event === 'failure' ? failure.detail : '', /^killed \(SIGKILL, or no exit status\) at \d+\.\d MiB/);
    const restart = await waitFor(() => seen.slice(before).find((e) => e.event === 'restart'), 15_000, 'restart');
    assert.equal(restart.event === 'restart' && restart.reason, 'killed near its memory limit');
  });
});
