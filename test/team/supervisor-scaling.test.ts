import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { AgentRecord } from '../../src/bus/registry.js';
import { initRoot } from '../../src/bus/root.js';
import { ReplyTimes } from '../../src/team/reply-times.js';
import { measureAgents, SupervisorScaling } from '../../src/team/supervisor-scaling.js';
import type { ScaledAgent } from '../../src/team/supervisor-state.js';
import { tempRoot } from '../helpers/bus.js';
import { ONE_AGENT, testContext, testParts } from './supervisor-context.js';

const record = (name: string, extra: Partial<AgentRecord> = {}): AgentRecord => ({ name, deliver: 'tmux', tmux: '%1', registered: '', ...extra });

describe('scaling: what it measures (pure)', () => {
  const scaled: Record<string, ScaledAgent> = {
    'dev-global-1': { name: 'dev-global-1', type: 'dev', session: 's', window_id: '@3', pane_id: '%3', session_created: false, spawned: new Date(10_000).toISOString() },
  };

  it('the team\'s agents and its scaled ones, with type, idle time, age, task and reply time', () => {
    const agents = measureAgents({
      agents: [
        record('dev-1', { owner: '/team.yaml', role: 'dev', status: 'idle' }),
        record('dev-global-1', { owner: '/other.yaml', role: 'dev' }),
        record('helper', { role: 'qa', owner: '/team.yaml' }),
        record('stranger', { owner: '/other.yaml' }),
      ],
      owner: '/team.yaml',
      scaled,
      types: new Map([['dev-1', 'dev']]),
      holders: new Set(['dev-global-1']),
      seen: (name) => (name === 'dev-1' ? { lastChange: 40_000, firstSeen: 5000 } : undefined),
      replyMs: (name) => (name === 'dev-1' ? 700 : undefined),
      now: 50_000,
    });
    assert.deepEqual(agents, [
      { name: 'dev-1', type: 'dev', role: 'dev', scaled: false, status: 'idle', idleMs: 10_000, holdsTask: false, replyMs: 700, ageMs: 45_000 },
      { name: 'dev-global-1', type: 'dev', role: 'dev', scaled: true, status: undefined, idleMs: 0, holdsTask: true, replyMs: undefined, ageMs: 40_000 },
      { name: 'helper', type: 'qa', role: 'qa', scaled: false, status: undefined, idleMs: 0, holdsTask: false, replyMs: undefined, ageMs: 0 },
    ]);
  });
});

describe('scaling: when it runs', () => {
  const tmp = tempRoot();
  after(() => tmp.cleanup());

  it('never without rules; with rules at once, then once per interval', () => {
    const layout = initRoot(tmp.root);
    const without = testContext(layout, ONE_AGENT);
    const none = new SupervisorScaling(without.ctx, testParts(without.ctx).health, new ReplyTimes());
    assert.equal(none.due(Date.now()), false);
    without.close();

    const withRules = testContext(layout, `${ONE_AGENT}scaling_rules:\n  interval: 1s\n`);
    const scaling = new SupervisorScaling(withRules.ctx, testParts(withRules.ctx).health, new ReplyTimes());
    assert.equal(scaling.due(5000), true, 'the first pass scales');
    assert.equal(scaling.due(5999), false);
    assert.equal(scaling.due(6000), true);
    withRules.close();
  });
});
