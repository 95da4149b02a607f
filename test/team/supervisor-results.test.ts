import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { initRoot } from '../../src/bus/root.js';
import { send } from '../../src/client/send.js';
import { ReplyTimes } from '../../src/team/reply-times.js';
import { SupervisorResults } from '../../src/team/supervisor-results.js';
import { readSupervisorState } from '../../src/team/supervisor-state.js';
import { addTask, readTasks } from '../../src/team/tasks.js';
import { tempRoot, waitFor } from '../helpers/bus.js';
import { ONE_AGENT, testContext } from './supervisor-context.js';

// The results part on a real journal (no router: `send` appends to it itself), no tmux.
describe('results from the journal', () => {
  const tmp = tempRoot();
  after(() => tmp.cleanup());

  it('a result message completes its task, reply times are noted, and the offset is kept for the next supervisor', async () => {
    const layout = initRoot(tmp.root);
    const task = await addTask(layout, { title: 'parse it', role: 'dev' });
    const replies = new ReplyTimes();
    const { ctx, heard, close } = testContext(layout, ONE_AGENT);
    const abort = new AbortController();
    let firstOffset: number | undefined;
    const results = new SupervisorResults(ctx, replies);
    try {
      results.start(abort.signal);
      await send(layout, { from: 'supervisor', to: 'dev-1', type: 'task', body: { task: task.id } });
      await waitFor(() => replies.replyMs('dev-1', Date.now()) !== undefined, 10_000, 'the task message noted');
      await send(layout, { from: 'dev-1', to: 'orchestrator', type: 'result', body: { task: task.id, result: 'parsed' } });
      const done = await waitFor(() => readTasks(layout).tasks.find((t) => t.id === task.id && t.status === 'done'), 10_000, 'task done');
      assert.equal(done.result, 'parsed');
      await waitFor(() => heard.logs.includes(`task ${task.id} is done (result from dev-1)`), 10_000, 'the log line');
      assert.ok(replies.replyMs('dev-1', Date.now())! >= 0, 'the answer\'s reply time');
      await results.saveOffset();
      firstOffset = readSupervisorState(layout).results_offset;
      assert.equal(typeof firstOffset, 'number');
    } finally {
      abort.abort();
      await results.stopped();
      close();
    }
    assert.deepEqual(heard.failures, []);

    // A new supervisor goes on from the saved offset (the last message seen, again: at least once), not from the start:
    // it never sees the task message, so it has no reply time for dev-1.
    const again = testContext(layout, ONE_AGENT);
    const replies2 = new ReplyTimes();
    const next = new SupervisorResults(again.ctx, replies2);
    const stop = new AbortController();
    try {
      next.start(stop.signal);
      await send(layout, { from: 'dev-1', to: 'orchestrator', type: 'note', body: 'later' });
      await waitFor(async () => {
        await next.saveOffset();
        return readSupervisorState(layout).results_offset! > firstOffset!;
      }, 10_000, 'the second follower caught up');
    } finally {
      stop.abort();
      await next.stopped();
      again.close();
    }
    assert.equal(replies2.replyMs('dev-1', Date.now()), undefined);
    assert.deepEqual(again.heard.logs, [], 'the result seen again changes nothing');
    assert.deepEqual(again.heard.failures, []);
  });
});
