import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LIMIT_REPEAT_MS, MAX_BACKOFF_MS, confirmed, deadStep, limitWarningDue, newWatch, noteAlive, noteRestart, noteScreen,
} from '../../src/team/supervisor-watch.js';

// The health decisions, pure: what a pass does about one agent from what it remembers of it.
describe('supervisor watch decisions (pure)', () => {
  it('a bare shell counts only on the second pass in a row; anything else resets the count', () => {
    const watch = newWatch(0);
    assert.equal(confirmed(watch, 'exited'), false);
    assert.equal(confirmed(watch, 'exited'), true);
    assert.equal(confirmed(watch, 'alive'), true);
    assert.equal(watch.exitedSeen, 0);
    assert.equal(confirmed(watch, 'exited'), false, 'counted afresh after an alive pass');
    assert.equal(confirmed(watch, 'dead'), true);
  });

  it('restarts back off doubling from the backoff, up to the cap', () => {
    const watch = newWatch(0);
    noteRestart(watch, 1000, 100);
    assert.deepEqual([watch.attempts, watch.lastRestartAt, watch.nextRestartAt], [1, 1000, 1100]);
    noteRestart(watch, 2000, 100);
    assert.equal(watch.nextRestartAt, 2200);
    noteRestart(watch, 3000, 100);
    assert.equal(watch.nextRestartAt, 3400);
    for (let i = 0; i < 20; i++) noteRestart(watch, 10_000, 100);
    assert.equal(watch.nextRestartAt, 10_000 + MAX_BACKOFF_MS);
  });

  it('a dead agent: restarted, waited for within the backoff, failed past max_retries, left alone once failed', () => {
    const watch = newWatch(0);
    assert.equal(deadStep(watch, 'running', 3, 0), 'restart');
    noteRestart(watch, 0, 1000);
    assert.equal(deadStep(watch, 'restarting', 3, 500), 'wait');
    assert.equal(deadStep(watch, 'dead', 3, 1000), 'restart');
    watch.attempts = 3;
    assert.equal(deadStep(watch, 'dead', 3, 99_000), 'fail');
    assert.equal(deadStep(watch, 'failed', 3, 99_000), 'leave');
  });

  it('alive again: a failed agent gets its retries back; healthy long enough, the count starts over', () => {
    const watch = newWatch(0);
    noteRestart(watch, 1000, 100);
    noteRestart(watch, 2000, 100);
    assert.equal(noteAlive(watch, 'running', 3000, 60_000), false);
    assert.equal(watch.attempts, 2, 'not healthy for long enough yet');
    assert.equal(noteAlive(watch, 'dead', 3000, 60_000), true, 'a dead agent that is alive came back');
    assert.equal(watch.attempts, 2, 'a dead one keeps its count');
    assert.equal(noteAlive(watch, 'running', 62_000, 60_000), false);
    assert.equal(watch.attempts, 0);
    watch.attempts = 3;
    assert.equal(noteAlive(watch, 'failed', 62_001, 60_000_000), true);
    assert.equal(watch.attempts, 0, 'brought back by hand: full retries');
  });

  it('the screen: a change makes an idle agent active, no change for idle_timeout makes it idle once', () => {
    const watch = newWatch(0);
    assert.equal(noteScreen(watch, 'a', 'running', 100, 1000), undefined);
    assert.equal(watch.lastChange, 100);
    assert.equal(noteScreen(watch, 'a', 'running', 1099, 1000), undefined);
    assert.deepEqual(noteScreen(watch, 'a', 'running', 1100, 1000), { change: 'idle', idleMs: 1000 });
    assert.equal(noteScreen(watch, 'a', 'idle', 5000, 1000), undefined, 'already idle');
    assert.deepEqual(noteScreen(watch, 'b', 'idle', 5001, 1000), { change: 'active' });
    assert.equal(watch.lastChange, 5001);
  });

  it('over-limit warnings: at the first breach, then at most every LIMIT_REPEAT_MS; within limits resets', () => {
    const watch = newWatch(0);
    assert.equal(limitWarningDue(watch, false, 10), false);
    assert.equal(limitWarningDue(watch, true, 20), true);
    assert.equal(limitWarningDue(watch, true, 20 + LIMIT_REPEAT_MS - 1), false);
    assert.equal(limitWarningDue(watch, true, 20 + LIMIT_REPEAT_MS), true);
    assert.equal(limitWarningDue(watch, false, 30 + LIMIT_REPEAT_MS), false);
    assert.equal(watch.breachAt, 0);
    assert.equal(limitWarningDue(watch, true, 40 + LIMIT_REPEAT_MS), true, 'a new breach warns at once');
  });
});
