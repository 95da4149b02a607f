import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Layout } from '../../src/bus/layout.js';
import { planScaling, scaledAgentName, type ScalingAgent } from '../../src/team/scaling.js';
import { addTask, cancelTask, completeTask, readTasks } from '../../src/team/tasks.js';
import type { AgentTemplate, ScalingRules } from '../../src/team/topology.js';
import { cli, waitFor } from '../helpers/bus.js';
import { TmuxBed } from '../helpers/tmux.js';
import { agentDefaults, agents, librarySupervisor, passes, writeTeam, type LibrarySupervisor } from './supervisor-helpers.js';

describe('planScaling (pure)', () => {
  const template: AgentTemplate = {
    type: 'dev', session: 's', role: 'dev', cwd: '/', env: {}, deliver: 'tmux', profile: 'readline', policy: 'immediate', submit: 'Enter', submit_delay: 40, multiline: 'join', hooks: false, mcp: false, priority: 'normal',
  };
  const agent = (name: string, extra: Partial<ScalingAgent> = {}): ScalingAgent => ({
    name, type: 'dev', role: 'dev', scaled: false, idleMs: 0, holdsTask: false, ageMs: 60_000, ...extra,
  });
  const rules = (up: ScalingRules['scale_up']['triggers'], down: ScalingRules['scale_down']['triggers'], max = 3): ScalingRules => ({
    interval_ms: 1000, scale_up: { triggers: up, max_agents_per_type: { dev: max } }, scale_down: { triggers: down },
  });

  it('spawns when an agent of the role waits for a reply longer than the threshold, up to the limit', () => {
    const slow = rules([{ metric: 'response_time', threshold: 5000, action: 'spawn_dev_agent', agent_type: 'dev' }], []);
    const plan = planScaling({ rules: slow, templates: { dev: template }, agents: [agent('a', { replyMs: 9000 })], ready: [], minAgeMs: 0 });
    assert.deepEqual(plan.actions.map((a) => [a.kind, a.type, a.value]), [['spawn', 'dev', 9000]]);
    const full = planScaling({ rules: slow, templates: { dev: template }, agents: [agent('a', { replyMs: 9000 }), agent('b'), agent('c')], ready: [], minAgeMs: 0 });
    assert.deepEqual(full.actions, []);
    assert.match(full.skipped[0]!, /at its limit of 3/);
    const fast = planScaling({ rules: slow, templates: { dev: template }, agents: [agent('a', { replyMs: 1000 })], ready: [], minAgeMs: 0 });
    assert.deepEqual(fast.actions, []);
  });

  it('names the missing template instead of guessing', () => {
    const plan = planScaling({
      rules: rules([{ metric: 'task_queue_length', threshold: 0, action: 'spawn_qa_agent', agent_type: 'qa' }], []),
      templates: {}, agents: [], ready: [{}], minAgeMs: 0,
    });
    assert.deepEqual(plan.actions, []);
    assert.match(plan.skipped[0]!, /no template for agent type qa/);
  });

  it('consolidates one scaled agent at a time when the queue is short: the idlest, never one holding a task or a declared one', () => {
    const plan = planScaling({
      rules: rules([], [{ metric: 'task_queue_length', threshold: 5, action: 'consolidate_agents' }]),
      templates: { dev: template },
      agents: [
        agent('declared', { idleMs: 99_000 }),
        agent('busy', { scaled: true, idleMs: 90_000, holdsTask: true }),
        agent('young', { scaled: true, idleMs: 80_000, ageMs: 10 }),
        agent('idle-a', { scaled: true, idleMs: 20_000 }),
        agent('idle-b', { scaled: true, idleMs: 50_000 }),
      ],
      ready: [{}, {}],
      minAgeMs: 1000,
    });
    assert.deepEqual(plan.actions.map((a) => a.kind === 'terminate' && a.agent), ['idle-b']);
  });

  it('gives scaled agents the naming convention with the first free instance', () => {
    assert.equal(scaledAgentName({ ...template, project: 'web', epic: 'e1' }, new Set(['dev-web-e1-1'])), 'dev-web-e1-2');
    assert.equal(scaledAgentName(template, new Set()), 'dev-global-1');
  });
});

// Scaling for real: a fixture's rules with a shortened interval, real panes, the scheduler loop on.
describe('supervisor scaling in tmux', () => {
  const bed = new TmuxBed();
  const { tmux, dir, root, base } = bed;
  const layout = new Layout(root);
  let library: LibrarySupervisor;

  before(async () => {
    bed.start();
    const file = writeTeam(dir, `
version: 1
name: sup-scaling
${agentDefaults(dir)}
supervisor:
  health_interval: 200ms
scaling_rules:
  interval: 300ms
  scale_up:
    triggers:
      - { metric: task_queue_length, threshold: 1, action: spawn_dev_agent }
    limits:
      max_agents_per_type: { dev: 3 }
  scale_down:
    triggers:
      - { metric: idle_time, threshold: 1500ms, action: terminate_agent }
templates:
  dev:
    session: scaleteam
    role: dev
sessions:
  - name: scaleteam
    windows:
      - name: dev
        panes: [{ name: dev-1, type: dev, role: dev }]
`);
    await bed.up(file);
    await bed.router();
    for (let i = 1; i <= 5; i++) await addTask(layout, { title: `story ${i}`, role: 'dev' });
    library = librarySupervisor(bed, file);
    await library.supervisor.start();
  });
  after(() => bed.close());

  const holders = () => readTasks(layout).tasks.filter((t) => t.status === 'assigned').map((t) => t.assignee!).sort();
  const panesOf = () => tmux.run(['list-panes', '-a', '-F', '#{@bmad_agent}']).split('\n').filter(Boolean).sort();

  it('scales up while the ready queue is longer than the threshold, up to max_agents_per_type', async () => {
    await waitFor(() => holders().length === 3, 15_000, 'three dev agents holding tasks');
    assert.deepEqual(holders(), ['dev-1', 'dev-global-1', 'dev-global-2']);
    // A scaling pass has seen the queue still long and declined to spawn a fourth.
    await waitFor(() => library.logged.includes('scaling: spawn_dev_agent: dev is at its limit of 3'), 15_000, 'the limit reached');
    const ups = library.seen.filter((e) => e.event === 'scale_up');
    assert.deepEqual(ups.map((e) => e.agent), ['dev-global-1', 'dev-global-2'], 'no more than the limit of 3');
    assert.deepEqual(Object.keys(await agents(base)).sort(), ['dev-1', 'dev-global-1', 'dev-global-2']);
    assert.deepEqual(panesOf(), ['dev-1', 'dev-global-1', 'dev-global-2']);
    const tail = await cli(['tail', '--no-follow', '-n', '1000', '--json', '--type', 'event', ...base]);
    assert.match(tail.stdout, /"event":"scale_up","agent":"dev-global-2","type":"dev","metric":"task_queue_length"/);
  });

  it('scales down an idle agent it started, never one holding a task, never a declared one', async () => {
    for (const task of readTasks(layout).tasks) if (task.status === 'pending') await cancelTask(layout, task.id);
    const tasks = readTasks(layout).tasks;
    const second = tasks.find((t) => t.assignee === 'dev-global-2')!;
    const first = tasks.find((t) => t.assignee === 'dev-global-1')!;
    await completeTask(layout, second.id);
    await waitFor(() => library.seen.some((e) => e.event === 'scale_down' && e.agent === 'dev-global-2'), 15_000, 'dev-global-2 scaled down');
    // Passes enough for idle_time (1.5 s at 200 ms a pass) and a few scaling intervals: a free dev-global-1 would be gone by then.
    await passes(library.supervisor, 12);
    assert.deepEqual(Object.keys(await agents(base)).sort(), ['dev-1', 'dev-global-1'], 'the holder and the declared agent stay');
    assert.deepEqual(panesOf(), ['dev-1', 'dev-global-1']);
    await completeTask(layout, first.id);
    await waitFor(() => library.seen.some((e) => e.event === 'scale_down' && e.agent === 'dev-global-1'), 15_000, 'dev-global-1 scaled down once free');
    assert.deepEqual(Object.keys(await agents(base)).sort(), ['dev-1']);
    assert.deepEqual(panesOf(), ['dev-1']);
    const downs = library.seen.filter((e) => e.event === 'scale_down');
    assert.ok(downs.every((e) => e.event === 'scale_down' && e.metric === 'idle_time'));
  });
});
