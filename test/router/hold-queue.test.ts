import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { AddressBook } from '../../src/bus/address-book.js';
import { createEnvelope, serialize, type Envelope } from '../../src/bus/envelope.js';
import { initRoot } from '../../src/bus/root.js';
import { DeadLetterLog } from '../../src/journal/dead-letters.js';
import { JournalWriter } from '../../src/journal/writer.js';
import { HoldQueue } from '../../src/router/hold-queue.js';
import { tempRoot } from '../helpers/bus.js';

const item = (to: string, offset: number): { offset: number; line: string; envelope: Envelope } => {
  const envelope = createEnvelope({ from: 'a', to, body: offset });
  return { offset, line: serialize(envelope), envelope };
};

describe('the hold queue', () => {
  test('a message waits holdMs, then comes back as an unknown_recipient dead letter, oldest first', () => {
    let now = 1_000_000;
    const queue = new HoldQueue({ holdMs: 5_000, deadLetterFile: '/nonexistent/deadletter.ndjson' }, () => now);
    const first = item('ghost', 0);
    assert.equal(queue.hold('ghost', first), undefined);
    now += 1_000;
    assert.equal(queue.hold('role:qa', item('role:qa', 100)), undefined);
    assert.equal(queue.size, 2);
    now += 3_999;
    assert.deepEqual(queue.expire(), []);
    now += 1;
    const [letter, ...rest] = queue.expire();
    assert.deepEqual(rest, []);
    assert.equal(letter!.reason, 'unknown_recipient');
    assert.equal(letter!.id, first.envelope.id);
    assert.equal(letter!.error, 'No agent `ghost` registered within 5s');
    now += 1_000;
    assert.equal(queue.expire()[0]!.error, 'No live agent of role qa within 5s');
    assert.equal(queue.size, 0);
  });

  test('a full queue gives the dead letter at once', () => {
    const queue = new HoldQueue({ holdMs: 1_000, deadLetterFile: '/nonexistent', max: 1 });
    assert.equal(queue.hold('x', item('x', 0)), undefined);
    const letter = queue.hold('y', item('y', 10));
    assert.equal(letter?.reason, 'unknown_recipient');
    assert.match(letter!.error, /hold queue full/);
    assert.equal(queue.size, 1);
  });

  test('an agent that registers takes its held messages out; its delivery starts at the first', () => {
    const queue = new HoldQueue({ holdMs: 60_000, deadLetterFile: '/nonexistent' });
    queue.hold('dev-1', item('dev-1', 300));
    queue.hold('dev-2', item('dev-2', 400));
    queue.hold('dev-1', item('dev-1', 500));
    assert.equal(queue.release('dev-1'), 300);
    assert.equal(queue.release('dev-1'), undefined);
    assert.equal(queue.size, 1);
  });

  test('what a predecessor dead-lettered already is not dead-lettered again', () => {
    const { root, cleanup } = tempRoot();
    try {
      const layout = initRoot(root);
      let now = 0;
      const queue = new HoldQueue({ holdMs: 10, deadLetterFile: layout.deadLetterFile }, () => now);
      const done = item('ghost', 0);
      queue.hold('ghost', done);
      const pending = item('ghost', 50);
      queue.hold('ghost', pending);
      const log = new DeadLetterLog(layout.deadLetterFile);
      log.append({ ts: new Date().toISOString(), reason: 'unknown_recipient', error: 'earlier', id: done.envelope.id });
      log.close();
      now = 100;
      assert.deepEqual(queue.expire().map((l) => l.id), [pending.envelope.id]);
      assert.equal(queue.size, 0);
    } finally {
      cleanup();
    }
  });

  test('messages journaled while no router ran are held from the time they were sent', () => {
    const { root, cleanup } = tempRoot();
    try {
      const layout = initRoot(root);
      const journal = new JournalWriter(layout.journalDir);
      const sentAt = Date.parse('2024-01-01T00:00:00Z');
      const lines = [
        createEnvelope({ from: 'a', to: 'known', body: 1 }, sentAt),
        createEnvelope({ from: 'a', to: 'ghost', body: 2 }, sentAt + 2_000),
        createEnvelope({ from: 'a', to: 'ghost', body: 3 }, sentAt),
      ].map((e) => serialize(e));
      const offsets = lines.map((l) => journal.append(`${l}\n`));
      journal.syncNow();
      const book = new AddressBook({ agents: { known: { name: 'known', registered: '', deliver: 'inbox' } }, groups: {} });
      let now = sentAt;
      const queue = new HoldQueue({ holdMs: 1_000, deadLetterFile: layout.deadLetterFile }, () => now);
      // From the second line on: the first is before the previous router's end.
      queue.holdUnknownSince(layout.journalDir, book, offsets[1], journal.end);
      assert.equal(queue.size, 2);
      now = sentAt + 1_000;
      assert.deepEqual(queue.expire().map((l) => (JSON.parse(l.line!) as Envelope).body), [3], 'the one sent earlier expires first');
      assert.equal(queue.release('ghost'), offsets[1]);
      journal.close();
      assert.ok(!fs.existsSync(layout.deadLetterFile));
    } finally {
      cleanup();
    }
  });
});
