import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createEnvelope, decodeJournalLine, type Envelope } from '../../src/bus/envelope.js';
import type { Layout } from '../../src/bus/layout.js';
import { addAgent } from '../../src/bus/registry.js';
import { initRoot } from '../../src/bus/root.js';
import { readJournal } from '../../src/journal/reader.js';
import { planAssignments, runSchedulerOnce, type SchedulableAgent } from '../../src/team/scheduler.js';
import type { Priority, Task, TaskStatus } from '../../src/team/task-model.js';
import { addTask, completeFromResultMessage, failTask, getTask, readTasks, retryTask } from '../../src/team/tasks.js';
import { cli, tempRoot } from '../helpers/bus.js';

const NOW = Date.parse('2030-01-01T12:00:00Z');
let seq = 0;

function task(fields: Partial<Task> & { priority?: Priority; status?: TaskStatus } = {}): Task {
  seq++;
  return { id: `t${seq}`, title: `task ${seq}`, priority: 'normal', after: [], status: 'pending', created: new Date(NOW).toISOString(), attempts: 0, ...fields };
}

const agents = (...names: string[]): SchedulableAgent[] => names.map((n) => ({ name: n, role: n.replace(/-\d+$/, '') }));
const pairs = (plan: { assignments: Array<{ task: string; agent: string }> }) => plan.assignments.map((a) => `${a.task}>${a.agent}`);

describe('planAssignments (pure)', () => {
  test('critical first, then high, normal, low; FIFO within a priority', () => {
    const tasks = [
      task({ id: 'a', priority: 'low' }),
      task({ id: 'b', priority: 'normal' }),
      task({ id: 'c', priority: 'critical' }),
      task({ id: 'd', priority: 'high' }),
      task({ id: 'e', priority: 'critical' }),
      task({ id: 'f', priority: 'normal' }),
    ];
    const order = planAssignments(tasks, agents('w-1', 'w-2', 'w-3', 'w-4', 'w-5', 'w-6')).assignments.map((a) => a.task);
    assert.deepEqual(order, ['c', 'e', 'd', 'b', 'f', 'a']);
    // With one free agent, the oldest critical task wins.
    assert.deepEqual(pairs(planAssignments(tasks, agents('w-1'))), ['c>w-1']);
  });

  test('only ready tasks: every dependency done or cancelled; a failed one blocks', () => {
    const tasks = [
      task({ id: 'done', status: 'done' }),
      task({ id: 'gone', status: 'cancelled' }),
      task({ id: 'bad', status: 'failed' }),
      task({ id: 'open' }),
      task({ id: 'x', after: ['done', 'gone'], priority: 'critical' }),
      task({ id: 'y', after: ['bad'], priority: 'critical' }),
      task({ id: 'z', after: ['open'], priority: 'critical' }),
    ];
    const plan = planAssignments(tasks, agents('w-1', 'w-2', 'w-3'));
    assert.deepEqual(plan.assignments.map((a) => a.task), ['x', 'open']);
  });

  test('role matching, fixed `to`, projects, and the orchestrator only by name or role', () => {
    const tasks = [
      task({ id: 'q', role: 'qa' }),
      task({ id: 'd', role: 'dev' }),
      task({ id: 'n', role: 'nobody' }),
      task({ id: 'to', to: 'dev-2' }),
      task({ id: 'web', role: 'dev', project: 'web' }),
      task({ id: 'any' }),
    ];
    const team: SchedulableAgent[] = [
      { name: 'orchestrator', role: 'orchestrator' },
      { name: 'qa-1', role: 'qa' },
      { name: 'dev-1', role: 'dev', project: 'api' },
      { name: 'dev-2', role: 'dev' },
      { name: 'dev-3', role: 'dev', project: 'web' },
    ];
    const plan = planAssignments(tasks, team);
    assert.deepEqual(pairs(plan), ['q>qa-1', 'd>dev-1', 'to>dev-2', 'web>dev-3']);
    assert.deepEqual(plan.deferred, [
      { task: 'n', reason: 'no free agent of role nobody' },
      { task: 'any', reason: 'no free agent (every agent is busy)' },
    ]);
  });

  test('only agents alive or idle and with no task in progress', () => {
    const tasks = [task({ id: 'busy', status: 'assigned', assignee: 'dev-1', role: 'dev' }), task({ id: 'n1', role: 'dev' }), task({ id: 'n2', role: 'dev' })];
    const team: SchedulableAgent[] = [
      { name: 'dev-1', role: 'dev' },
      { name: 'dev-2', role: 'dev', status: 'failed' },
      { name: 'dev-3', role: 'dev', status: 'dead' },
      { name: 'dev-4', role: 'dev', status: 'idle' },
    ];
    assert.deepEqual(pairs(planAssignments(tasks, team)), ['n1>dev-4']);
  });

  test('round robin rotates per role across plans; least loaded picks the least recently busy', () => {
    const team = agents('dev-1', 'dev-2', 'dev-3');
    let rotation: Record<string, string> = {};
    const got: string[] = [];
    for (let i = 0; i < 5; i++) {
      const plan = planAssignments([task({ role: 'dev' })], team, { strategy: 'round_robin', rotation });
      rotation = plan.rotation;
      got.push(plan.assignments[0]!.agent);
    }
    assert.deepEqual(got, ['dev-1', 'dev-2', 'dev-3', 'dev-1', 'dev-2']);
    assert.deepEqual(rotation, { dev: 'dev-2' });

    // dev-1 finished 3 tasks within the hour, dev-2 one, dev-3 two (one of them long ago).
    const at = (minutesAgo: number) => new Date(NOW - minutesAgo * 60_000).toISOString();
    const history = [
      task({ status: 'done', assignee: 'dev-1', assigned: at(5) }),
      task({ status: 'done', assignee: 'dev-1', assigned: at(10) }),
      task({ status: 'done', assignee: 'dev-1', assigned: at(15) }),
      task({ status: 'done', assignee: 'dev-2', assigned: at(1) }),
      task({ status: 'done', assignee: 'dev-3', assigned: at(2) }),
      task({ status: 'done', assignee: 'dev-3', assigned: at(600) }),
    ];
    const next = task({ role: 'dev' });
    const rr = planAssignments([...history, next], team, { strategy: 'round_robin', rotation: { dev: 'dev-3' } });
    assert.deepEqual(pairs(rr), [`${next.id}>dev-1`], 'round robin ignores load');
    const ll = planAssignments([...history, next], team, { strategy: 'least_loaded', now: NOW });
    assert.deepEqual(pairs(ll), [`${next.id}>dev-3`], 'tie on one recent task: dev-3 waited longer than dev-2');
    const extra = planAssignments([...history, next], [{ name: 'dev-2', role: 'dev' }, { name: 'dev-3', role: 'dev', load: 5 }], { strategy: 'least_loaded', now: NOW });
    assert.deepEqual(pairs(extra), [`${next.id}>dev-2`], 'an agent-reported load counts');
  });

  test('max_sessions: total and per project', () => {
    const tasks = [
      task({ id: 'run', status: 'assigned', assignee: 'w-1', project: 'web' }),
      task({ id: 'w1', project: 'web' }),
      task({ id: 'w2', project: 'web' }),
      task({ id: 'a1', project: 'api' }),
      task({ id: 'a2', project: 'api' }),
      task({ id: 'free' }),
    ];
    const team = agents('w-2', 'w-3', 'w-4', 'w-5', 'w-6', 'w-7');
    assert.equal(planAssignments(tasks, team).assignments.length, 5);
    assert.deepEqual(planAssignments(tasks, team, { maxSessions: 3 }).assignments.map((a) => a.task), ['w1', 'w2'], 'three assigned at once, counting the running one');
    const perProject = planAssignments(tasks, team, { maxSessionsPerProject: 1 });
    assert.deepEqual(perProject.assignments.map((a) => a.task), ['a1', 'free']);
    assert.deepEqual(perProject.deferred.map((d) => d.reason), ['max_sessions 1 for project web reached', 'max_sessions 1 for project web reached', 'max_sessions 1 for project api reached']);
    const map = planAssignments(tasks, team, { maxSessionsPerProject: { web: 3 }, maxSessions: 4 });
    assert.deepEqual(map.assignments.map((a) => a.task), ['w1', 'w2', 'a1']);
  });
});

describe('runSchedulerOnce', () => {
  let root: { root: string; cleanup: () => void };
  let layout: Layout;
  before(async () => {
    root = tempRoot();
    layout = initRoot(root.root);
    for (const [name, role] of [['dev-1', 'dev'], ['dev-2', 'dev'], ['qa-1', 'qa']] as const) await addAgent(layout, { name, role });
  });
  after(() => root.cleanup());

  const messages = (): Envelope[] => readJournal(layout.journalDir, 0).lines.map((l) => decodeJournalLine(l.line));

  test('assigns ready tasks by message, one per free agent, and a result frees the agent', async () => {
    const build = await addTask(layout, { title: 'build', role: 'dev', priority: 'low' });
    const fix = await addTask(layout, { title: 'fix', role: 'dev', priority: 'critical', body: 'the crash', project: 'web' });
    const test3 = await addTask(layout, { title: 'test', role: 'qa', after: [fix.id] });
    const later = await addTask(layout, { title: 'later', role: 'dev' });

    const first = await runSchedulerOnce(layout);
    assert.deepEqual(first.assignments.map((a) => `${a.task.id}>${a.agent}`), [`${fix.id}>dev-1`, `${later.id}>dev-2`]);
    const sent = messages().filter((m) => m.type === 'task');
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[0]!.body, { task: fix.id, title: 'fix', body: 'the crash', priority: 'critical', project: 'web' });
    assert.equal(sent[0]!.to, 'dev-1');
    assert.equal(sent[0]!.from, 'scheduler');
    const fixed = getTask(layout, fix.id);
    assert.equal(fixed.status, 'assigned');
    assert.equal(fixed.assignee, 'dev-1');
    assert.equal(fixed.message, sent[0]!.id);
    assert.equal(fixed.attempts, 1);
    assert.ok(fixed.assigned);

    assert.equal((await runSchedulerOnce(layout)).assignments.length, 0, 'every dev is busy; qa waits on fix');

    await completeFromResultMessage(layout, createEnvelope({ from: 'dev-1', to: 'orchestrator', type: 'result', body: { task: fix.id, result: 'ok' } }));
    const second = await runSchedulerOnce(layout);
    assert.deepEqual(second.assignments.map((a) => `${a.task.id}>${a.agent}`), [`${test3.id}>qa-1`, `${build.id}>dev-1`], 'normal before low');
    assert.deepEqual(readTasks(layout).rotation, { dev: 'dev-1', qa: 'qa-1' }, 'the rotation is persisted in the tasks file');
  });

  test('a failed task blocks its dependents until retried', async () => {
    const base = await addTask(layout, { title: 'base', to: 'qa-1' });
    const dependent = await addTask(layout, { title: 'dependent', role: 'qa', after: [base.id] });
    // qa-1 is busy with the previous test's task: finish it.
    for (const t of readTasks(layout).tasks.filter((t) => t.status === 'assigned')) {
      await completeFromResultMessage(layout, createEnvelope({ from: t.assignee!, to: 'orchestrator', type: 'result', body: { task: t.id } }));
    }
    assert.deepEqual((await runSchedulerOnce(layout)).assignments.map((a) => a.task.id), [base.id]);
    await completeFromResultMessage(layout, createEnvelope({ from: 'qa-1', to: 'orchestrator', type: 'result', body: { task: base.id, ok: false, error: 'flaky' } }));
    assert.equal(getTask(layout, base.id).status, 'failed');
    assert.equal((await runSchedulerOnce(layout)).assignments.length, 0, 'the dependent waits on a failed task');
    assert.deepEqual(getTask(layout, dependent.id).blockedBy, [base.id]);
    await retryTask(layout, base.id);
    const again = await runSchedulerOnce(layout);
    assert.deepEqual(again.assignments.map((a) => `${a.task.id}>${a.agent}`), [`${base.id}>qa-1`]);
    assert.equal(again.assignments[0]!.task.attempts, 2);
    await failTask(layout, base.id);
  });

  test('an agent reports with `bmad-bus send --type result`: the journaled message completes the task', async () => {
    const t = await addTask(layout, { title: 'report through the bus', to: 'dev-2' });
    for (const a of readTasks(layout).tasks.filter((x) => x.status === 'assigned' && x.assignee === 'dev-2')) await failTask(layout, a.id);
    assert.deepEqual((await runSchedulerOnce(layout)).assignments.map((a) => a.task.id), [t.id]);
    const sent = await cli(['--dir', root.root, 'send', 'orchestrator', '--from', 'dev-2', '--type', 'result', '--body-json', JSON.stringify({ task: t.id, result: 'all green' })]);
    assert.equal(sent.code, 0, sent.stderr);
    const envelope = messages().find((m) => m.id === sent.stdout.trim())!;
    const outcome = await completeFromResultMessage(layout, envelope);
    assert.equal(outcome?.changed, true);
    assert.equal(getTask(layout, t.id).status, 'done');
    assert.equal(getTask(layout, t.id).result, 'all green');
  });

  test('`task schedule` from the CLI, with limits and a strategy', async () => {
    const { root: dir, cleanup } = tempRoot();
    try {
      const l = initRoot(dir);
      for (const name of ['dev-1', 'dev-2', 'dev-3']) await addAgent(l, { name, role: 'dev' });
      for (const title of ['one', 'two', 'three']) await addTask(l, { title, role: 'dev', project: 'web' });
      const r = await cli(['--dir', dir, 'task', 'schedule', '--max-per-project', '2', '--strategy', 'least_loaded']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 't1 → dev-1  [normal] one\nt2 → dev-2  [normal] two\nt3 waits: max_sessions 2 for project web reached\n');
      const list = await cli(['--dir', dir, 'task', 'list']);
      assert.match(list.stdout, /t1\s+normal\s+assigned\s+-\s+-\s+dev-1\s+dev\s+web\s+one/);
      const json = JSON.parse((await cli(['--dir', dir, 'task', 'schedule', '--json', '--max-sessions', '2'])).stdout);
      assert.deepEqual(json.assignments, []);
      assert.deepEqual(json.deferred, [{ task: 't3', reason: 'max_sessions 2 reached' }]);

      // Limits from the topology file; a flag given on the command line wins.
      const topology = path.join(path.dirname(dir), 'team.yaml');
      fs.writeFileSync(topology, [
        'name: sched',
        'max_sessions: { total: 5, per_project: 1 }',
        'scheduling: { strategy: least_loaded }',
        'sessions:',
        '  - name: web',
        '    project: web',
        '    windows: [{ name: dev-1, role: dev, command: cat }]',
      ].join('\n'));
      const fromFile = JSON.parse((await cli(['--dir', dir, 'task', 'schedule', '--json', '--topology', topology])).stdout);
      assert.deepEqual(fromFile.deferred, [{ task: 't3', reason: 'max_sessions 1 for project web reached' }]);
      const overridden = await cli(['--dir', dir, 'task', 'schedule', '--topology', topology, '--max-per-project', '3']);
      assert.equal(overridden.stdout, 't3 → dev-3  [normal] three\n');
      const bad = await cli(['--dir', dir, 'task', 'schedule', '--topology', path.join(dir, 'missing.yaml')]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /^bmad-bus: Cannot read topology file/);
    } finally {
      cleanup();
    }
  });
});
