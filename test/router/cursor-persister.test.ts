import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { initRoot } from '../../src/bus/root.js';
import { readCursors } from '../../src/journal/cursors.js';
import { CursorPersister } from '../../src/router/cursor-persister.js';
import { tempRoot, waitFor } from '../helpers/bus.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the cursor persister', () => {
  test('a hand-over is written within milliseconds, and a burst of them in few writes', async () => {
    const { root, cleanup } = tempRoot();
    const layout = initRoot(root);
    const cursors: Record<string, number> = { 'inbox:dev-1': 0 };
    let snapshots = 0;
    const snapshot = (): Record<string, number> => {
      snapshots++;
      return { ...cursors };
    };
    const persister = new CursorPersister(layout, { snapshot, mayWrite: () => true, log: assert.fail });
    try {
      for (let i = 1; i <= 100; i++) {
        cursors['inbox:dev-1'] = i * 10;
        persister.handedOver();
      }
      await waitFor(() => readCursors(layout)['inbox:dev-1'] === 1000, 2_000, 'the cursor written');
      assert.ok(snapshots <= 2, `coalesced: ${snapshots} write(s)`);
    } finally {
      persister.close();
      cleanup();
    }
  });

  test('the periodic write skips cursors that did not change; a consumer that came or went is written', async () => {
    const { root, cleanup } = tempRoot();
    const layout = initRoot(root);
    let cursors: Record<string, number> = { 'inbox:dev-1': 5 };
    const persister = new CursorPersister(layout, { snapshot: () => cursors, mayWrite: () => true, log: assert.fail });
    try {
      await persister.persist();
      fs.rmSync(layout.cursorsFile);
      await persister.persist();
      assert.ok(!fs.existsSync(layout.cursorsFile), 'unchanged: not written again');
      persister.changed();
      await persister.persist();
      assert.deepEqual(readCursors(layout), { 'inbox:dev-1': 5 });
      cursors = { 'inbox:dev-1': 5, 'tmux:dev-1': 0 };
      persister.start(10);
      await waitFor(() => 'tmux:dev-1' in readCursors(layout), 2_000, 'the periodic write');
    } finally {
      persister.close();
      cleanup();
    }
  });

  test('nothing is written into a root that is not ours; after close only the final write', async () => {
    const { root, cleanup } = tempRoot();
    const layout = initRoot(root);
    let ours = false;
    const persister = new CursorPersister(layout, { snapshot: () => ({ 'inbox:dev-1': 7 }), mayWrite: () => ours, log: assert.fail });
    try {
      persister.handedOver();
      await sleep(50);
      assert.ok(!fs.existsSync(layout.cursorsFile));
      ours = true;
      persister.close();
      persister.handedOver();
      await sleep(50);
      assert.ok(!fs.existsSync(layout.cursorsFile), 'closed: no write soon after a hand-over');
      await persister.final();
      assert.deepEqual(readCursors(layout), { 'inbox:dev-1': 7 });
    } finally {
      persister.close();
      cleanup();
    }
  });
});
