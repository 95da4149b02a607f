import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { createEnvelope, serialize, type Normalized } from '../../src/bus/envelope.js';
import { readJournal } from '../../src/journal/reader.js';
import { JournalWriter, type Durability } from '../../src/journal/writer.js';
import { GroupCommit, type Accepted, type GroupCommitHost } from '../../src/router/group-commit.js';
import { tempDir, waitFor } from '../helpers/bus.js';

const line = (body: unknown): Normalized => {
  const envelope = createEnvelope({ from: 'a', to: 'b', body });
  return { envelope, line: serialize(envelope) };
};

/** A journal whose disk can be made full. */
class FillableJournal extends JournalWriter {
  full = false;
  override append(text: string | Buffer): number {
    if (this.full) throw new Error('ENOSPC: no space left on device');
    return super.append(text);
  }
}

interface Recorded {
  appended: number;
  dispatched: Accepted[];
  ends: number[];
  resumed: number;
  events: string[];
}

function setUp(durability: Durability): { commit: GroupCommit; journal: FillableJournal; seen: Recorded; cleanup: () => void } {
  const { dir, cleanup } = tempDir();
  const journal = new FillableJournal(dir);
  const seen: Recorded = { appended: 0, dispatched: [], ends: [], resumed: 0, events: [] };
  const host: GroupCommitHost = {
    appended: (count) => (seen.appended += count),
    dispatch: (accepted) => seen.dispatched.push(accepted),
    dispatched: (end) => seen.ends.push(end),
    resume: () => seen.resumed++,
    stallBegan: (error) => seen.events.push(`full: ${error.message}`),
    stallEnded: () => seen.events.push('room again'),
    closed: () => false,
    fail: (error) => seen.events.push(`failed: ${error.message}`),
  };
  const commit = new GroupCommit(journal, durability, host);
  return {
    commit,
    journal,
    seen,
    cleanup: () => {
      commit.close();
      journal.close();
      cleanup();
    },
  };
}

describe('group commit', () => {
  test('batch: lines are handed on only once an fsync covered them, in journal order, with their offsets', async () => {
    const { commit, journal, seen, cleanup } = setUp('batch');
    try {
      assert.equal(commit.append([line(1), line('ü')], [undefined, undefined]), true);
      assert.equal(commit.append([line(3)], [undefined]), true);
      assert.equal(seen.appended, 3);
      assert.equal(seen.dispatched.length, 0, 'not before the fsync');
      await waitFor(() => seen.dispatched.length === 3, 2_000, 'the dispatch after fsync');
      assert.deepEqual(seen.dispatched.map((a) => a.envelope.body), [1, 'ü', 3]);
      const lines = readJournal(journal.dir, 0, 1 << 20).lines;
      assert.deepEqual(seen.dispatched.map((a) => [a.offset, a.end]), lines.map((l) => [l.offset, l.end]), 'offsets count bytes, not characters');
      assert.equal(seen.ends.at(-1), journal.end);
      assert.ok(journal.durableEnd === journal.end);
      assert.ok(seen.resumed > 0);
    } finally {
      cleanup();
    }
  });

  test('message: each append is durable and handed on before it returns; never: handed on unsynced', () => {
    for (const durability of ['message', 'never'] as const) {
      const { commit, journal, seen, cleanup } = setUp(durability);
      try {
        commit.append([line(1)], [undefined]);
        assert.equal(seen.dispatched.length, 1, durability);
        assert.equal(journal.durableEnd === journal.end, durability === 'message');
      } finally {
        cleanup();
      }
    }
  });

  test('a spool file is removed once its message is durable', async () => {
    const { commit, seen, cleanup } = setUp('batch');
    const { dir, cleanup: cleanupSpool } = tempDir();
    try {
      const spool = path.join(dir, 'spool.json');
      fs.writeFileSync(spool, '{}\n');
      commit.append([line(1)], [spool]);
      assert.ok(fs.existsSync(spool));
      await waitFor(() => seen.dispatched.length === 1 && !fs.existsSync(spool), 2_000, 'the spool file removed');
      assert.equal(seen.dispatched[0]!.spoolFile, spool);
    } finally {
      cleanup();
      cleanupSpool();
    }
  });

  test('a full disk: the batch and every later one wait, intake pauses, and all go in, in order, when there is room', async () => {
    const { commit, journal, seen, cleanup } = setUp('message');
    try {
      journal.full = true;
      assert.equal(commit.append([line(1), line(2)], [undefined, undefined]), false);
      assert.equal(commit.append([line(3)], [undefined]), false);
      assert.ok(commit.stalled && commit.mustPause());
      assert.ok(commit.diskFullSince instanceof Date);
      assert.deepEqual(seen.events, ['full: ENOSPC: no space left on device']);
      journal.full = false;
      await waitFor(() => seen.events.includes('room again'), 5_000, 'the retry');
      assert.deepEqual(seen.dispatched.map((a) => a.envelope.body), [1, 2, 3]);
      assert.equal(commit.stalled, false);
      assert.equal(commit.diskFullSince, undefined);
      assert.equal(seen.appended, 3);
    } finally {
      cleanup();
    }
  });

  test('after the replay, what it recovered is made durable and left to the journal readers', () => {
    const { commit, journal, seen, cleanup } = setUp('batch');
    try {
      commit.append([line(1)], [undefined]);
      commit.settleReplay();
      assert.equal(journal.durableEnd, journal.end);
      commit.dispatchDurable();
      assert.deepEqual(seen.dispatched, []);
      assert.equal(commit.mustPause(), false);
    } finally {
      cleanup();
    }
  });
});
