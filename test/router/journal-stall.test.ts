import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createEnvelope, serialize, type Normalized } from '../../src/bus/envelope.js';
import { JournalStall, piecesOf, type LineBatch } from '../../src/router/journal-stall.js';
import { waitFor } from '../helpers/bus.js';

const line = (n: number, pad = 0): Normalized => {
  const envelope = createEnvelope({ from: 'a', to: 'b', body: `${n}${'.'.repeat(pad)}` });
  return { envelope, line: serialize(envelope) };
};
const batch = (from: number, count: number, pad = 0): LineBatch => {
  const lines = Array.from({ length: count }, (_, i) => line(from + i, pad));
  return { lines, spools: lines.map((_, i) => (i % 2 ? `spool-${from + i}` : undefined)) };
};
const bodies = (b: LineBatch): unknown[] => b.lines.map((l) => l.envelope.body);

describe('the journal stall', () => {
  test('a refused batch is cut into pieces of about 64 KiB, each line with its spool file, in order', () => {
    const big = batch(0, 100, 2_000);
    const pieces = piecesOf(big);
    assert.ok(pieces.length >= 3, `${pieces.length} pieces`);
    for (const p of pieces) assert.ok(p.lines.reduce((n, l) => n + l.line.length + 1, 0) <= 64 * 1024 + 2_200);
    assert.deepEqual(pieces.flatMap(bodies), bodies(big));
    assert.deepEqual(pieces.flatMap((p) => p.spools), big.spools);
    // A line longer than a piece is a piece of its own.
    assert.deepEqual(piecesOf(batch(0, 2, 70_000)).map((p) => p.lines.length), [1, 1]);
  });

  test('retries oldest first until the journal takes everything, keeping later batches behind', async () => {
    const journaled: unknown[] = [];
    let room = 0;
    const events: string[] = [];
    const stall = new JournalStall(
      {
        append: (b) => {
          assert.ok(stall.retrying);
          if (room <= 0) return false;
          room--;
          journaled.push(...bodies(b));
          return true;
        },
        began: (error) => events.push(`began: ${error.message}`),
        ended: (ms) => events.push(`ended after ${ms >= 0 ? 'some' : 'negative'} ms`),
        closed: () => false,
      },
      5,
    );
    try {
      assert.equal(stall.active, false);
      stall.begin(batch(0, 3), new Error('ENOSPC'));
      assert.ok(stall.active && stall.since instanceof Date);
      stall.queue(batch(3, 2));
      stall.begin(batch(5, 1), new Error('ENOSPC again')); // refused while stalled: queued, no second "began"
      await new Promise((r) => setTimeout(r, 30));
      assert.deepEqual(journaled, []);
      room = 1;
      await waitFor(() => journaled.length === 3, 2_000, 'the first piece');
      assert.ok(stall.active);
      room = 10;
      await waitFor(() => !stall.active, 2_000, 'the rest');
      assert.deepEqual(journaled, ['0', '1', '2', '3', '4', '5']);
      assert.deepEqual(events, ['began: ENOSPC', 'ended after some ms']);
      assert.equal(stall.since, undefined);
      assert.equal(stall.retrying, false);
    } finally {
      stall.close();
    }
  });

  test('no retry once the router is closing', async () => {
    let tries = 0;
    const append = (): boolean => {
      tries++;
      return true;
    };
    const stall = new JournalStall({ append, began: () => undefined, ended: () => assert.fail('no retry'), closed: () => true }, 5);
    try {
      stall.begin(batch(0, 1), new Error('ENOSPC'));
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(tries, 0);
    } finally {
      stall.close();
    }
  });
});
