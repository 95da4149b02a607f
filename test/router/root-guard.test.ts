import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { initRoot } from '../../src/bus/root.js';
import { RootGuard } from '../../src/router/root-guard.js';
import { tempRoot } from '../helpers/bus.js';

test('a root removed and made again is not ours any more, and that is said once', () => {
  const { root, cleanup } = tempRoot();
  try {
    const layout = initRoot(root);
    const lost: string[] = [];
    const guard = new RootGuard(layout, (error) => lost.push(error.message));
    assert.equal(guard.stillOurs(), true);
    assert.equal(guard.lost, false);
    fs.rmSync(root, { recursive: true });
    initRoot(root);
    assert.equal(guard.stillOurs(), false);
    assert.equal(guard.stillOurs(), false);
    assert.equal(guard.lost, true);
    assert.deepEqual(lost, [`The bus root ${layout.root} was removed or replaced; stopping`]);
  } finally {
    cleanup();
  }
});
