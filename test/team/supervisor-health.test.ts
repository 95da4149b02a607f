import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { addAgent, readRegistry } from '../../src/bus/registry.js';
import { initRoot } from '../../src/bus/root.js';
import { tempRoot } from '../helpers/bus.js';
import { ONE_AGENT, testContext, testParts } from './supervisor-context.js';

// The health part with no tmux server at all (its socket has none): every pane is missing.
// What it does with an alive agent, and restarts, are tested in tmux (test/supervisor-*.test.ts).
describe('the health part, without tmux', () => {
  const tmp = tempRoot();
  after(() => tmp.cleanup());

  it('an agent whose pane is gone, with no retries left, is marked failed and the orchestrator told once', async () => {
    const layout = initRoot(tmp.root);
    await addAgent(layout, { name: 'dev-1', role: 'dev', deliver: 'tmux', tmux: '%1', status: 'running' });
    const { ctx, heard, close } = testContext(layout, ONE_AGENT, { maxRetries: 0 });
    const { health } = testParts(ctx);
    try {
      await health.check(readRegistry(layout).agents['dev-1']!);
      assert.equal(readRegistry(layout).agents['dev-1']?.status, 'failed');
      assert.deepEqual(heard.events, [{ event: 'failed', agent: 'dev-1', restarts: 0, reason: 'pane missing' }]);
      await health.check(readRegistry(layout).agents['dev-1']!);
      assert.equal(heard.events.length, 1, 'a failed agent is left alone');
      assert.deepEqual(heard.failures, []);
    } finally {
      close();
    }
  });

  it('while the team is rebuilt, checks leave its agents alone; afterwards their idle clock starts anew', async () => {
    const layout = initRoot(tmp.root);
    await addAgent(layout, { name: 'dev-1', role: 'dev', deliver: 'tmux', tmux: '%1', status: 'restarting' });
    const { ctx, heard, close } = testContext(layout, ONE_AGENT, { maxRetries: 0 });
    const { health } = testParts(ctx);
    try {
      const before = Date.now();
      const result = await health.holdDuring(['dev-1'], async () => {
        await health.check(readRegistry(layout).agents['dev-1']!);
        return 'rebuilt';
      });
      assert.equal(result, 'rebuilt');
      assert.equal(readRegistry(layout).agents['dev-1']?.status, 'restarting', 'untouched while held');
      assert.deepEqual(heard.events, []);
      assert.ok(health.seen('dev-1')!.lastChange >= before);
      await health.settled();

      health.retain(new Set(['someone-else']));
      assert.equal(health.seen('dev-1'), undefined, 'forgotten once it left the team');
    } finally {
      close();
    }
  });
});
