import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BridgeArrivals } from '../../src/channels/bridge-arrivals.js';
import { tempDir } from '../helpers/bus.js';

describe('bridge arrivals: the ids journaled from NATS, until the outbound side passed them', () => {
  it('are known across a restart, each taken once, and the file shrinks to what is still open', () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'bridge-arrivals');
      const first = new BridgeArrivals(file);
      first.add(['m1', 'm2', 'm3']);
      assert.equal(first.take('m1'), true);
      assert.equal(first.take('m1'), false, 'once');
      first.close(); // a crash: nothing rewritten, m1 still in the file
      const again = new BridgeArrivals(file);
      assert.deepEqual(['m1', 'm2', 'm3', 'm4'].map((id) => again.has(id)), [true, true, true, false], 'what was written down survives');
      for (const id of ['m1', 'm2', 'm3']) again.take(id);
      again.compact();
      assert.equal(fs.readFileSync(file, 'utf8'), '', 'nothing open: an empty file');
      again.add(['m5']);
      again.close();
      assert.match(fs.readFileSync(file, 'utf8'), /^\d+ m5\n$/);
      assert.equal((fs.statSync(file).mode & 0o777).toString(8), '600');
    } finally {
      cleanup();
    }
  });

  it('forget what is an hour old, and skip lines that are not theirs', () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'bridge-arrivals');
      fs.writeFileSync(file, `${Date.now() - 2 * 3600_000} old\n${Date.now()} fresh\ngarbage\n\n x\nNaN y\n`);
      const arrivals = new BridgeArrivals(file);
      assert.deepEqual(['old', 'fresh', 'garbage', 'x', 'y'].map((id) => arrivals.has(id)), [false, true, false, false, false]);
      arrivals.close();
    } finally {
      cleanup();
    }
  });
});
