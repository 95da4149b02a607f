import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createEnvelope, serialize, type Envelope, type Normalized } from '../../src/bus/envelope.js';
import type { Layout } from '../../src/bus/layout.js';
import { initRoot } from '../../src/bus/root.js';
import { DeadLetterLog, type DeadLetter } from '../../src/journal/dead-letters.js';
import { JournalWriter } from '../../src/journal/writer.js';
import { IntakeDrain, type IntakeDrainHost } from '../../src/router/intake-drain.js';
import { readIntakeMark, type IntakeMark } from '../../src/router/intake-mark.js';
import { alreadyRecorded } from '../../src/router/intake-replay.js';
import { IntakeWriter } from '../../src/router/intake-writer.js';
import { ingestLine } from '../../src/router/ingest.js';
import { tempRoot, waitFor } from '../helpers/bus.js';

const message = (body: unknown): { envelope: Envelope; text: string } => {
  const envelope = createEnvelope({ from: 'a', to: 'b', body });
  return { envelope, text: `${serialize(envelope)}\n` };
};

/** A drain over a real intake, journaling into an array; `refuse` plays a full disk (the batch then waits: `stalled`). */
function drainOf(layout: Layout, writer: IntakeWriter): {
  drain: IntakeDrain;
  batches: unknown[][];
  rejected: DeadLetter[];
  marksAtAppend: (IntakeMark | undefined)[];
  state: { stalled: boolean; refuse: boolean; seen: Set<string> };
} {
  const batches: unknown[][] = [];
  const rejected: DeadLetter[] = [];
  const marksAtAppend: (IntakeMark | undefined)[] = [];
  const state = { stalled: false, refuse: false, seen: new Set<string>() };
  let journalEnd = 0;
  const host: IntakeDrainHost = {
    maxLineBytes: 1024 * 1024,
    ingest: (bytes, origin, ts, makeId) => ingestLine(layout, bytes, origin, ts, makeId),
    seen: (id) => state.seen.has(id),
    reject: (record) => rejected.push(record),
    parsed: (normalized: Normalized) => state.seen.add(normalized.envelope.id),
    append: (lines) => {
      marksAtAppend.push(readIntakeMark(layout.intakeMarkFile));
      batches.push(lines.map((l) => l.envelope.body));
      if (state.refuse) {
        state.stalled = true; // the batch waits in the stall; nothing went into the journal
        return;
      }
      journalEnd += lines.reduce((n, l) => n + l.line.length + 1, 0);
    },
    journalEnd: () => journalEnd,
    stalled: () => state.stalled,
    mustPause: () => state.stalled,
    closed: () => false,
    writerEnd: () => writer.end,
  };
  return { drain: new IntakeDrain(layout, host), batches, rejected, marksAtAppend, state };
}

/** Runs `body` on a fresh root with an intake writer; closes every drain it made, then removes the root. */
function withIntake(body: (layout: Layout, writer: IntakeWriter, open: () => ReturnType<typeof drainOf>) => void): void {
  const { root, cleanup } = tempRoot();
  const layout = initRoot(root);
  const writer = new IntakeWriter(layout.journalDir);
  const drains: IntakeDrain[] = [];
  try {
    body(layout, writer, () => {
      const made = drainOf(layout, writer);
      drains.push(made.drain);
      return made;
    });
  } finally {
    for (const drain of drains) drain.close();
    writer.close();
    cleanup();
  }
}

describe('the intake drain', () => {
  test('what the intake holds is journaled in order, one batch a turn, and the mark moves only after', () => {
    withIntake((layout, writer, open) => {
      const { drain, batches, marksAtAppend } = open();
      const before = readIntakeMark(layout.intakeMarkFile);
      writer.append('bus.pipe', 1, Buffer.from(message(1).text + message(2).text));
      writer.append('bus.pipe', 2, Buffer.from(message(3).text));
      drain.consume();
      assert.deepEqual(batches, [[1, 2, 3]]);
      assert.deepEqual(marksAtAppend, [before], 'the mark had not moved when the batch was journaled');
      assert.deepEqual(readIntakeMark(layout.intakeMarkFile)?.at, writer.end, 'then it moved past the reads');
    });
  });

  test('while a batch waits for the disk the mark stays, and nothing more is read; it moves once the disk took it', () => {
    withIntake((layout, writer, open) => {
      const { drain, batches, state } = open();
      state.refuse = true;
      drain.flush();
      const before = readIntakeMark(layout.intakeMarkFile);
      writer.append('bus.pipe', 1, Buffer.from(message(1).text));
      const afterFirst = writer.end;
      drain.consume();
      assert.deepEqual(batches, [[1]]);
      assert.ok(state.stalled, 'the journal refused it');
      assert.deepEqual(readIntakeMark(layout.intakeMarkFile), before, 'behind a stall the mark stays');
      writer.append('bus.pipe', 2, Buffer.from(message(2).text));
      drain.consume();
      assert.deepEqual(batches, [[1]], 'nothing is read meanwhile');
      state.refuse = false;
      state.stalled = false; // the disk took what waited
      drain.writeMark();
      assert.deepEqual(readIntakeMark(layout.intakeMarkFile)?.at, afterFirst);
      drain.consume();
      assert.deepEqual(batches, [[1], [2]]);
      assert.deepEqual(readIntakeMark(layout.intakeMarkFile)?.at, writer.end);
    });
  });

  test('a line not yet complete holds the mark at the read where it began', () => {
    withIntake((layout, writer, open) => {
      const { drain, batches } = open();
      const { text } = message('split');
      const head = writer.end;
      writer.append('bus.pipe', 1, Buffer.from(text.slice(0, 20)));
      drain.consume();
      assert.deepEqual(readIntakeMark(layout.intakeMarkFile)?.at, head);
      writer.append('bus.pipe', 2, Buffer.from(text.slice(20)));
      drain.consume();
      assert.deepEqual(batches, [['split']]);
      assert.deepEqual(readIntakeMark(layout.intakeMarkFile)?.at, writer.end);
    });
  });

  test('a replay after a crash skips what the journal and the dead-letter log have, and counts the reads', () => {
    withIntake((_layout, writer, open) => {
      const first = open();
      first.drain.flush(); // the mark before anything was read
      const journaled = message('journaled');
      writer.append('bus.pipe', 1, Buffer.from(journaled.text));
      writer.append('bus.pipe', 2, Buffer.from('not json\n'));
      writer.append('bus.pipe', 3, Buffer.from(message('lost').text));
      first.drain.close(); // killed before it consumed anything
      const again = open();
      const known = { ids: new Set([journaled.envelope.id]), deadIds: new Set<string>() };
      assert.equal(again.drain.replay(known), 3);
      assert.deepEqual(again.batches, [['lost']]);
      assert.equal(again.rejected.length, 1, 'the bad line is dead-lettered once');
      again.drain.close();
      // The replay moved the mark past what it journaled: a later start has nothing to replay.
      const third = open();
      assert.equal(third.drain.replay({ ids: new Set(), deadIds: new Set() }), 0);
      assert.deepEqual(third.batches, []);
    });
  });

  test('the skip list is read when first asked for, from the journal after the mark and the dead-letter log', async () => {
    const { root, cleanup } = tempRoot();
    const layout = initRoot(root);
    const journal = new JournalWriter(layout.journalDir);
    try {
      const old = message('before the mark');
      const from = journal.append(old.text) + old.text.length;
      const later = message('after the mark');
      const end = from + later.text.length;
      const known = alreadyRecorded({ journalDir: layout.journalDir, deadLetterFile: layout.deadLetterFile, from, end });
      // Written after the skip list was made: it sees them, having read nothing yet.
      journal.append(later.text);
      const log = new DeadLetterLog(layout.deadLetterFile);
      log.append({ ts: new Date().toISOString(), reason: 'invalid_json', error: 'x', id: 'dead-1' });
      log.close();
      await waitFor(() => journal.end === end, 1_000, 'the append');
      assert.deepEqual([...known.ids], [later.envelope.id]);
      assert.deepEqual([...known.deadIds], ['dead-1']);
    } finally {
      journal.close();
      cleanup();
    }
  });
});
