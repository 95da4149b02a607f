import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createEnvelope, type Envelope } from '../../src/bus/envelope.js';
import { DependencyCycleError, TaskStateError, UnknownTaskError, UsageError } from '../../src/bus/errors.js';
import type { Layout } from '../../src/bus/layout.js';
import { initRoot } from '../../src/bus/root.js';
import {
  addTask,
  cancelTask,
  completeFromResultMessage,
  completeTask,
  failTask,
  getTask,
  listTasks,
  readTasks,
  retryTask,
  setDependencies,
} from '../../src/team/tasks.js';
import { cli, tempRoot } from '../helpers/bus.js';

function result(body: unknown, from = 'dev-1'): Envelope {
  return createEnvelope({ from, to: 'orchestrator', type: 'result', body });
}

describe('task store', () => {
  let root: { root: string; cleanup: () => void };
  let layout: Layout;
  before(() => {
    root = tempRoot();
    layout = initRoot(root.root);
  });
  after(() => root.cleanup());

  test('adds tasks with short unique ids and defaults', async () => {
    const a = await addTask(layout, { title: '  Write   the parser ' });
    const b = await addTask(layout, { title: 'Test it', priority: 'HIGH', role: 'qa', after: [a.id], project: 'web', body: 'all of it' });
    assert.equal(a.id, 't1');
    assert.equal(b.id, 't2');
    assert.equal(a.title, 'Write the parser');
    assert.equal(a.priority, 'normal');
    assert.equal(a.status, 'pending');
    assert.deepEqual(b.after, ['t1']);
    assert.equal(b.priority, 'high');
    assert.equal(b.project, 'web');
    assert.ok(Date.parse(a.created) > 0);
    assert.deepEqual(readTasks(layout).tasks.map((t) => t.id), ['t1', 't2']);
  });

  test('readiness and blockers follow dependencies', async () => {
    const [t1, t2] = listTasks(layout);
    assert.equal(t1!.ready, true);
    assert.deepEqual(t1!.blocks, ['t2']);
    assert.equal(t2!.ready, false);
    assert.deepEqual(t2!.waitingOn, ['t1']);
    assert.deepEqual(listTasks(layout, { status: 'ready' }).map((t) => t.id), ['t1']);
    assert.deepEqual(listTasks(layout, { status: 'blocker' }).map((t) => t.id), ['t1']);
  });

  test('a failed task blocks its dependents until retried or cancelled', async () => {
    const failed = await failTask(layout, 't1', { reason: 'compiler crashed' });
    assert.equal(failed.changed, true);
    assert.equal(failed.task.status, 'failed');
    assert.equal(failed.task.reason, 'compiler crashed');
    let t2 = getTask(layout, 't2');
    assert.equal(t2.ready, false);
    assert.deepEqual(t2.blockedBy, ['t1']);
    assert.deepEqual(getTask(layout, 't1').blocks, ['t2'], 'a failed task is a blocker');

    const retried = await retryTask(layout, 't1');
    assert.equal(retried.task.status, 'pending');
    assert.equal(retried.task.reason, undefined);
    assert.deepEqual(getTask(layout, 't2').blockedBy, []);

    await failTask(layout, 't1');
    await cancelTask(layout, 't1');
    t2 = getTask(layout, 't2');
    assert.equal(t2.ready, true, 'cancelling the failed dependency releases its dependents');
    assert.deepEqual(getTask(layout, 't1').blocks, []);
  });

  test('status changes are idempotent, and impossible ones are refused', async () => {
    const t = await addTask(layout, { title: 'idempotent' });
    const first = await completeTask(layout, t.id, { result: 'first' });
    const again = await completeTask(layout, t.id, { result: 'second' });
    assert.equal(first.changed, true);
    assert.equal(again.changed, false);
    assert.equal(getTask(layout, t.id).result, 'first', 'a repeated done keeps the first result');
    await assert.rejects(failTask(layout, t.id), TaskStateError);
    await assert.rejects(cancelTask(layout, t.id), TaskStateError);
    await assert.rejects(retryTask(layout, t.id), TaskStateError);
    const c = await addTask(layout, { title: 'cancelled' });
    await cancelTask(layout, c.id);
    await assert.rejects(completeTask(layout, c.id), TaskStateError);
    assert.equal((await retryTask(layout, c.id)).task.status, 'pending');
  });

  test('bad input: unknown priority, unknown dependency, cycle, unknown id', async () => {
    await assert.rejects(addTask(layout, { title: 'x', priority: 'urgent' }), (e: Error) => e instanceof UsageError && /critical, high, normal or low, got `urgent`/.test(e.message));
    await assert.rejects(addTask(layout, { title: 'x', after: ['t99'] }), (e: Error) => e instanceof UnknownTaskError && /t99/.test(e.message));
    await assert.rejects(addTask(layout, { title: '' }), UsageError);
    await assert.rejects(addTask(layout, { title: 'x', role: 'Bad Role' }), /role/);
    await assert.rejects(completeTask(layout, 't999'), UnknownTaskError);
    const a = await addTask(layout, { title: 'a' });
    const b = await addTask(layout, { title: 'b', after: [a.id] });
    const c = await addTask(layout, { title: 'c', after: [b.id] });
    await assert.rejects(setDependencies(layout, a.id, [c.id]), (e: Error) => e instanceof DependencyCycleError && e.message.includes(`${a.id} → ${c.id} → ${b.id} → ${a.id}`));
    await assert.rejects(setDependencies(layout, a.id, [a.id]), DependencyCycleError);
    assert.deepEqual(getTask(layout, a.id).after, [], 'a refused change leaves the task as it was');
    assert.deepEqual((await setDependencies(layout, c.id, [a.id, 'T' + b.id.slice(1)])).after, [a.id, b.id]);
  });

  test('a `result` message completes or fails a task; anything else is ignored', async () => {
    const ok = await addTask(layout, { title: 'report ok' });
    const bad = await addTask(layout, { title: 'report failure' });
    const err = await addTask(layout, { title: 'report error' });
    assert.equal(await completeFromResultMessage(layout, createEnvelope({ from: 'a', to: 'b', type: 'message', body: { task: ok.id } })), undefined);
    assert.equal(await completeFromResultMessage(layout, result('plain text')), undefined);
    assert.equal(await completeFromResultMessage(layout, result({ note: 'no task' })), undefined);

    const done = await completeFromResultMessage(layout, result({ task: ok.id, result: 'merged' }));
    assert.equal(done?.changed, true);
    assert.equal(done?.task?.status, 'done');
    assert.equal(getTask(layout, ok.id).result, 'merged');
    const repeat = await completeFromResultMessage(layout, result({ task: ok.id, result: 'merged' }));
    assert.equal(repeat?.changed, false, 'a re-delivered result changes nothing');

    assert.equal((await completeFromResultMessage(layout, result({ task: bad.id, ok: false, reason: 'tests red' })))?.task?.status, 'failed');
    assert.equal(getTask(layout, bad.id).reason, 'tests red');
    assert.equal((await completeFromResultMessage(layout, result({ task: err.id, error: { code: 3 } })))?.task?.status, 'failed');
    assert.equal(getTask(layout, err.id).reason, '{"code":3}');

    const unknown = await completeFromResultMessage(layout, result({ task: 't4242' }));
    assert.equal(unknown?.changed, undefined);
    assert.match(unknown?.ignored ?? '', /t4242/);
    const late = await completeFromResultMessage(layout, result({ task: ok.id, ok: false }));
    assert.match(late?.ignored ?? '', /already done/, 'a failure report after done is ignored, not thrown');
  });

  test('a replayed old result does not undo a retry', async () => {
    const t = await addTask(layout, { title: 'flaky' });
    const oldFailure = result({ task: t.id, ok: false, error: 'first attempt broke' });
    await new Promise((r) => setTimeout(r, 5));
    assert.equal((await completeFromResultMessage(layout, oldFailure))?.task?.status, 'failed');
    await retryTask(layout, t.id);
    const replay = await completeFromResultMessage(layout, oldFailure);
    assert.match(replay?.ignored ?? '', /Stale report/);
    assert.equal(getTask(layout, t.id).status, 'pending');
    assert.equal((await completeFromResultMessage(layout, result({ task: t.id, result: 'second attempt' })))?.task?.status, 'done');
  });
});

describe('task CLI', () => {
  let root: { root: string; cleanup: () => void };
  before(() => {
    root = tempRoot();
  });
  after(() => root.cleanup());
  const run = (...args: string[]) => cli(['--dir', root.root, 'task', ...args]);

  test('add prints the id; list shows readiness, blockers and assignee', async () => {
    const a = await run('add', 'Set', 'up', 'CI', '--priority', 'critical', '--role', 'devops');
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, 't1\n');
    const b = await run('add', 'Write tests', '--after', 't1', '--role', 'qa', '--json');
    assert.equal(b.code, 0, b.stderr);
    const task = JSON.parse(b.stdout);
    assert.equal(task.id, 't2');
    assert.deepEqual(task.after, ['t1']);
    const c = await run('add', 'Both', '--after', 't1,t2', '--to', 'dev-1', '--project', 'web', '--body', 'details');
    assert.equal(c.stdout, 't3\n');

    const list = await run('list');
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID\s+PRIORITY\s+STATUS\s+READY\s+BLOCKS\s+ASSIGNEE/);
    assert.match(lines[1]!, /^t1\s+critical\s+pending\s+ready\s+t2,t3\s+-\s+devops\s+-\s+Set up CI$/);
    assert.match(lines[2]!, /^t2\s+normal\s+pending\s+waits t1\s+t3\s+/);
    assert.match(lines[3]!, /^t3\s+normal\s+pending\s+waits t1,t2\s+-\s+-\s+@dev-1\s+web\s+Both$/);

    const json = JSON.parse((await run('list', '--json', '--status', 'ready')).stdout);
    assert.deepEqual(json.map((t: { id: string }) => t.id), ['t1']);
    assert.equal((await run()).stdout, list.stdout, '`task` alone lists');
  });

  test('done, fail, retry, cancel', async () => {
    const fail = await run('fail', 't1', '--reason', 'no runner');
    assert.equal(fail.code, 0, fail.stderr);
    assert.equal(fail.stdout, 't1 failed (was pending)\n');
    assert.match((await run('list')).stdout, /t2\s+normal\s+pending\s+blocked t1/);
    assert.equal((await run('retry', 't1')).stdout, 't1 pending (was failed)\n');
    assert.equal((await run('done', 't1', '--result', 'green')).stdout, 't1 done (was pending)\n');
    assert.equal((await run('done', 't1')).stdout, 't1 already done\n');
    assert.equal((await run('cancel', 't2')).stdout, 't2 cancelled (was pending)\n');
    const list = JSON.parse((await run('list', '--json')).stdout);
    assert.equal(list[0].result, 'green');
    assert.equal(list[2].ready, true, 't3 waits on t1 (done) and t2 (cancelled): ready');
    assert.deepEqual(JSON.parse((await run('list', '--json', '--status', 'cancelled')).stdout).map((t: { id: string }) => t.id), ['t2']);
  });

  test('bad input: one clear line and exit code 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['add', 'x', '--priority', 'urgent'], /^bmad-bus: Expected priority critical, high, normal or low, got `urgent`\n$/],
      [['add', 'x', '--after', 't77'], /^bmad-bus: Unknown dependency `t77`: no task with that id/],
      [['depend', 't1', 't3'], /^bmad-bus: Dependency cycle: t1 → t3 → t1/],
      [['done', 't404'], /^bmad-bus: No task `t404`/],
      [['add', 'x', '--role', 'Not A Role'], /^bmad-bus: Expected role to match/],
      [['list', '--status', 'sleeping'], /^bmad-bus: Expected status pending, assigned, done, failed, cancelled, ready or blocker, got `sleeping`\n$/],
      [['schedule', '--strategy', 'random'], /^bmad-bus: Expected strategy round_robin or least_loaded, got `random`\n$/],
    ];
    for (const [args, pattern] of cases) {
      const r = await run(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern, args.join(' '));
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    }
    const missing = await run('add');
    assert.equal(missing.code, 2);
    const state = await run('cancel', 't1');
    assert.equal(state.code, 1, 'cancelling a done task is a failure, not a usage error');
    assert.match(state.stderr, /^bmad-bus: Task t1 is already done\n$/);
  });

  test('two `task add` processes at once lose nothing', async () => {
    const { root: dir, cleanup } = tempRoot();
    try {
      const init = await cli(['--dir', dir, 'task', 'add', 'first']);
      assert.equal(init.code, 0, init.stderr);
      const writers = [0, 1].map(async (w) => {
        for (let i = 0; i < 15; i++) {
          const r = await cli(['--dir', dir, 'task', 'add', `w${w}-${i}`]);
          assert.equal(r.code, 0, r.stderr);
        }
      });
      await Promise.all(writers);
      const tasks = JSON.parse((await cli(['--dir', dir, 'task', 'list', '--json'])).stdout) as Array<{ id: string; title: string }>;
      assert.equal(tasks.length, 31);
      assert.equal(new Set(tasks.map((t) => t.id)).size, 31, 'ids are unique');
      for (const w of [0, 1]) {
        const mine = tasks.filter((t) => t.title.startsWith(`w${w}-`)).map((t) => t.title);
        assert.deepEqual(mine, Array.from({ length: 15 }, (_, i) => `w${w}-${i}`), 'each writer in order, none lost');
      }
    } finally {
      cleanup();
    }
  });
});
