import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { initRoot } from '../../src/bus/root.js';
import { readStateFile } from '../../src/bus/state-file.js';
import type { RouterStatus } from '../../src/router/router-status.js';
import { StatusReporter, routerStatusOf, type StatusFacts } from '../../src/router/status-reporter.js';
import { tempRoot } from '../helpers/bus.js';

const facts = (overrides: Partial<StatusFacts> = {}): StatusFacts => ({
  root: '/tmp/bus',
  started: new Date('2024-01-01T00:00:00Z'),
  ready: true,
  stopping: false,
  underKeeper: false,
  restarts: 2,
  durability: 'batch',
  stats: { accepted: 10, delivered: 7, deadLettered: 1 },
  held: 3,
  journalEnd: 4096,
  diskFullSince: undefined,
  agents: ['idle', 'dev-1'],
  consumers: [
    { key: 'inbox:dev-1', agent: 'dev-1', cursor: 100, isLive: true, deliveredTotal: 5, waiting: undefined, undelivered: 2 },
    { key: 'tmux:dev-1', agent: 'dev-1', cursor: 50, isLive: false, deliveredTotal: 2, waiting: 'no pane', undelivered: 4 },
  ],
  ...overrides,
});

describe('the status report', () => {
  test('counters, and per agent the most undelivered of its consumers and each consumer by kind', () => {
    const status = routerStatusOf(facts());
    assert.equal(status.pid, process.pid);
    assert.equal(status.started, '2024-01-01T00:00:00.000Z');
    assert.deepEqual(
      { ready: status.ready, restarts: status.restarts, accepted: status.accepted, delivered: status.delivered, dead_lettered: status.dead_lettered, held: status.held, journal_end: status.journal_end },
      { ready: true, restarts: 2, accepted: 10, delivered: 7, dead_lettered: 1, held: 3, journal_end: 4096 },
    );
    assert.deepEqual(status.agents, {
      idle: { undelivered: 0, consumers: {} },
      'dev-1': {
        undelivered: 4,
        consumers: { inbox: { cursor: 100, live: true, delivered: 5 }, tmux: { cursor: 50, live: false, delivered: 2, waiting: 'no pane' } },
      },
    });
    assert.equal('stopping' in status || 'disk_full_since' in status || 'keeper_pid' in status, false);
    assert.equal(typeof status.rss, 'number');
  });

  test('stopping, a full disk and the keeper show when they apply', () => {
    const since = new Date('2024-01-02T00:00:00Z');
    const status = routerStatusOf(facts({ stopping: true, diskFullSince: since, underKeeper: true }), { BMAD_BUS_KEEPER_PID: '4242' });
    assert.equal(status.stopping, true);
    assert.equal(status.disk_full_since, since.toISOString());
    assert.equal(status.keeper_pid, 4242);
    assert.equal(routerStatusOf(facts(), { BMAD_BUS_KEEPER_PID: '4242' }).keeper_pid, undefined, 'not under a keeper');
  });

  test('the reporter writes the file when asked, an unchanged status only every few seconds for the timer, not into a root that is not ours, and logs a failed write', async () => {
    const { root, cleanup } = tempRoot();
    const layout = initRoot(root);
    let ours = true;
    const logged: string[] = [];
    const reporter = new StatusReporter(layout, { facts: (ready) => facts({ ready }), mayWrite: () => ours, log: (line) => logged.push(line) });
    try {
      reporter.write(false);
      assert.equal(readStateFile<RouterStatus>(layout.routerStatusFile, {} as RouterStatus).ready, false);
      reporter.write(true, true);
      assert.equal(readStateFile<RouterStatus>(layout.routerStatusFile, {} as RouterStatus).ready, true, 'a change is written at once');
      const written = fs.statSync(layout.routerStatusFile).mtimeMs;
      await new Promise((r) => setTimeout(r, 20));
      reporter.write(true, true);
      assert.equal(fs.statSync(layout.routerStatusFile).mtimeMs, written, 'nothing changed: not written again for the timer');
      reporter.write(true);
      assert.notEqual(fs.statSync(layout.routerStatusFile).mtimeMs, written, 'written when asked');
      ours = false;
      fs.rmSync(layout.routerStatusFile);
      reporter.write();
      assert.ok(!fs.existsSync(layout.routerStatusFile));
      ours = true;
      fs.rmSync(layout.stateDir, { recursive: true });
      reporter.write();
      assert.equal(logged.length, 1);
      assert.match(logged[0]!, /^status: /);
    } finally {
      cleanup();
    }
  });
});
