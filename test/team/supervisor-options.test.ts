import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Layout } from '../../src/bus/layout.js';
import { resolveSupervisorOptions } from '../../src/team/supervisor-options.js';
import { INTERVAL_ENV } from '../../src/team/supervisor-types.js';
import { parseTopology } from '../../src/team/topology.js';
import { tempRoot } from '../helpers/bus.js';

const TEAM = `
name: opts
supervisor: { health_interval: 2s, max_retries: 4, backoff: 3s, idle_timeout: 10m, checkpoint_interval: 0 }
scaling_rules:
  interval: 45s
sessions:
  - name: s
    windows: [{ name: w, type: dev }]
`;

describe('supervisor options, resolved once', () => {
  const { root, cleanup } = tempRoot();
  const layout = new Layout(root);
  const topology = parseTopology(TEAM, '/teams/team.yaml');
  const log = () => undefined;

  it('takes the topology\'s values and the built-in defaults', () => {
    const o = resolveSupervisorOptions(layout, { topology, log }, {});
    assert.deepEqual(
      [o.intervalMs, o.maxRetries, o.backoffMs, o.idleTimeoutMs, o.checkpointIntervalMs, o.scalingIntervalMs],
      [2000, 4, 3000, 600_000, 0, 45_000],
    );
    assert.deepEqual([o.restoreSettleMs, o.restoreTimeoutMs, o.healthyAfterMs, o.eventsTo, o.schedule], [500, 15_000, 60_000, 'orchestrator', true]);
    assert.equal(o.socket, undefined, 'no team state: no socket');
  });

  it('the environment overrides the topology\'s interval, the caller overrides both; never below 50 ms', () => {
    assert.equal(resolveSupervisorOptions(layout, { topology, log }, { [INTERVAL_ENV]: '700ms' }).intervalMs, 700);
    assert.equal(resolveSupervisorOptions(layout, { topology, log, intervalMs: 300 }, { [INTERVAL_ENV]: '700ms' }).intervalMs, 300);
    assert.equal(resolveSupervisorOptions(layout, { topology, log, intervalMs: 1 }, {}).intervalMs, 50);
    assert.throws(() => resolveSupervisorOptions(layout, { topology, log }, { [INTERVAL_ENV]: 'soon' }), new RegExp(INTERVAL_ENV));
  });

  it('healthy_after follows a long interval: ten intervals, at least a minute', () => {
    assert.equal(resolveSupervisorOptions(layout, { topology, log, intervalMs: 30_000 }, {}).healthyAfterMs, 300_000);
    assert.equal(resolveSupervisorOptions(layout, { topology, log, healthyAfterMs: 5 }, {}).healthyAfterMs, 5);
  });

  it('cleans up', () => cleanup());
});
