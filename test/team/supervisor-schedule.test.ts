import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { addAgent } from '../../src/bus/registry.js';
import { initRoot } from '../../src/bus/root.js';
import { schedulePass, schedulerStatus } from '../../src/team/supervisor-schedule.js';
import { addTask, readTasks } from '../../src/team/tasks.js';
import { tempRoot } from '../helpers/bus.js';
import { ONE_AGENT, testContext } from './supervisor-context.js';

describe('the scheduler pass', () => {
  const tmp = tempRoot();
  after(() => tmp.cleanup());

  it('the registry status as the scheduler sees it: restarting agents take no task', () => {
    assert.equal(schedulerStatus('failed'), 'failed');
    assert.equal(schedulerStatus('dead'), 'dead');
    assert.equal(schedulerStatus('restarting'), 'dead');
    assert.equal(schedulerStatus('idle'), 'idle');
    assert.equal(schedulerStatus('running'), 'alive');
    assert.equal(schedulerStatus(undefined), 'alive');
  });

  it('assigns a ready task to a running agent of its role, never to a restarting one, and logs it', async () => {
    const layout = initRoot(tmp.root);
    await addAgent(layout, { name: 'dev-1', role: 'dev', deliver: 'inbox', status: 'restarting' });
    await addAgent(layout, { name: 'dev-2', role: 'dev', deliver: 'inbox', status: 'running' });
    const task = await addTask(layout, { title: 'write it', role: 'dev' });
    const { ctx, heard, close } = testContext(layout, ONE_AGENT);
    try {
      await schedulePass(ctx);
    } finally {
      close();
    }
    assert.equal(readTasks(layout).tasks.find((t) => t.id === task.id)?.assignee, 'dev-2');
    assert.deepEqual(heard.logs, [`assigned ${task.id} to dev-2`]);
  });
});
