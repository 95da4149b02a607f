import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initRoot } from '../../src/bus/root.js';
import { SupervisorCheckpoints } from '../../src/team/supervisor-checkpoints.js';
import { tempRoot } from '../helpers/bus.js';
import { ONE_AGENT, testContext } from './supervisor-context.js';

describe('periodic checkpoints', () => {
  const tmp = tempRoot();
  const dir = path.join(path.dirname(tmp.root), 'checkpoints');
  const saved = process.env.BMAD_CHECKPOINT_DIR;
  before(() => {
    // Into the temp dir only: never the user's checkpoint directory.
    process.env.BMAD_CHECKPOINT_DIR = dir;
  });
  after(() => {
    if (saved === undefined) delete process.env.BMAD_CHECKPOINT_DIR;
    else process.env.BMAD_CHECKPOINT_DIR = saved;
    tmp.cleanup();
  });

  it('due one interval after the start, then every interval; 0 turns them off', () => {
    const layout = initRoot(tmp.root);
    const on = testContext(layout, ONE_AGENT, { checkpointIntervalMs: 1000 });
    const checkpoints = new SupervisorCheckpoints(on.ctx, 10_000);
    assert.equal(checkpoints.due(10_999), false, 'nothing to save right after the start');
    assert.equal(checkpoints.due(11_000), true);
    assert.equal(checkpoints.due(11_500), false);
    assert.equal(checkpoints.due(12_000), true);
    on.close();
    const off = testContext(layout, ONE_AGENT, { checkpointIntervalMs: 0 });
    assert.equal(new SupervisorCheckpoints(off.ctx, 0).due(1e12), false);
    off.close();
  });

  // A real write needs a team in tmux: test/supervisor-supervise.test.ts reads one back.
  it('with no team up, a write fails with the reason and writes nothing (the pass logs it and goes on)', async () => {
    const layout = initRoot(tmp.root);
    const { ctx, heard, close } = testContext(layout, ONE_AGENT);
    try {
      await assert.rejects(new SupervisorCheckpoints(ctx).write(), /No team is up on this bus/);
      assert.deepEqual(heard.logs, []);
      assert.equal(fs.existsSync(dir) ? fs.readdirSync(dir).length : 0, 0);
    } finally {
      close();
    }
  });
});
