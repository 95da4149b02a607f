import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { Layout } from '../../src/bus/layout.js';
import { deliveryPositions } from '../../src/team/checkpoint.js';
import { cli, tempRoot } from '../helpers/bus.js';

test('a checkpoint takes the live router cursor when the cursor file lags (the status file keys consumers by kind)', async () => {
  const { root, cleanup } = tempRoot();
  try {
    assert.equal((await cli(['--dir', root, 'init'])).code, 0);
    const layout = new Layout(root);
    fs.writeFileSync(layout.cursorsFile, JSON.stringify({ cursors: { 'inbox:dev-1': 10, 'tmux:dev-1': 700, 'inbox:qa-1': 40 } }));
    // A live router (this process stands in for it) that has delivered further than the file says.
    const now = new Date().toISOString();
    const status = {
      pid: process.pid, root, started: now, updated: now, ready: true, restarts: 0, durability: 'batch', accepted: 0, delivered: 0,
      dead_lettered: 0, held: 0, journal_end: 900, rss: 0, heap_used: 0,
      agents: {
        'dev-1': { undelivered: 0, consumers: { inbox: { cursor: 500, undelivered: 0 }, tmux: { cursor: 600, undelivered: 0 } } },
      },
    };
    fs.writeFileSync(layout.routerStatusFile, JSON.stringify(status));
    assert.deepEqual(deliveryPositions(layout, ['dev-1', 'qa-1', 'nobody']), {
      'inbox:dev-1': 500, // the live one, further than the file's 10
      'tmux:dev-1': 700, // the file's, further than the live one (both only move forward)
      'inbox:qa-1': 40, // no live consumer: the file's
    });
  } finally {
    cleanup();
  }
});
