import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { addAgent } from '../../src/bus/registry.js';
import { initRoot } from '../../src/bus/root.js';
import type { Layout } from '../../src/bus/layout.js';
import { writeCursors, writeReadCursor } from '../../src/journal/cursors.js';
import { pruneJournal } from '../../src/journal/prune.js';
import { readJournal } from '../../src/journal/reader.js';
import { journalEnd, journalStart, listSegments, segmentFileName } from '../../src/journal/segments.js';
import { JournalWriter } from '../../src/journal/writer.js';
import { cli, tempDir, tempRoot } from '../helpers/bus.js';

/** A journal line of exactly `size` bytes including its newline. */
function lineOf(n: number, size = 50): string {
  const head = `{"n":${n},"pad":"`;
  const tail = '"}';
  return `${head}${'x'.repeat(size - head.length - tail.length - 1)}${tail}\n`;
}

/** Every line of the journal from `from`, read in small steps. */
function readAll(dir: string, from = 0, step = 1): { lines: string[]; offsets: number[]; next: number; skippedTo?: number } {
  const lines: string[] = [];
  const offsets: number[] = [];
  let position = from;
  let skippedTo: number | undefined;
  for (;;) {
    const result = readJournal(dir, position, step);
    if (result.skippedTo !== undefined && skippedTo === undefined) skippedTo = result.skippedTo;
    for (const l of result.lines) {
      lines.push(l.line);
      offsets.push(l.offset);
    }
    if (result.next === position) return { lines, offsets, next: position, ...(skippedTo !== undefined ? { skippedTo } : {}) };
    position = result.next;
  }
}

/** Makes a file look last written `ms` ago. */
function age(file: string, ms: number): void {
  const when = new Date(Date.now() - ms);
  fs.utimesSync(file, when, when);
}

const HOUR = 3_600_000;

describe('JournalWriter and readJournal', () => {
  let tmp: { dir: string; cleanup: () => void };
  let dir: string;
  beforeEach(() => {
    tmp = tempDir();
    dir = path.join(tmp.dir, 'journal');
    fs.mkdirSync(dir, { mode: 0o700 });
  });
  afterEach(() => tmp.cleanup());

  test('append returns global offsets; lines read back with their offsets', () => {
    const writer = new JournalWriter(dir);
    assert.equal(writer.end, 0);
    assert.equal(writer.append(lineOf(0)), 0);
    assert.equal(writer.append(lineOf(1) + lineOf(2)), 50);
    assert.equal(writer.append(Buffer.from(lineOf(3))), 150);
    assert.equal(writer.end, 200);
    writer.close();
    const { lines, next } = readJournal(dir, 0);
    assert.deepEqual(lines.map((l) => [l.offset, l.end, JSON.parse(l.line).n]), [[0, 50, 0], [50, 100, 1], [100, 150, 2], [150, 200, 3]]);
    assert.equal(next, 200);
    assert.deepEqual(readJournal(dir, 100).lines.map((l) => l.offset), [100, 150]);
    assert.deepEqual(readJournal(dir, 200), { lines: [], next: 200 });
  });

  test('segments roll at segmentBytes, named by their global start offset', () => {
    const writer = new JournalWriter(dir, { segmentBytes: 200 });
    for (let i = 0; i < 10; i++) writer.append(lineOf(i));
    // A batch that does not fit starts a new segment whole (a segment never splits a line).
    writer.append(lineOf(10) + lineOf(11) + lineOf(12));
    writer.close();
    const segments = listSegments(dir);
    assert.deepEqual(segments.map((s) => [path.basename(s.file), s.size]), [
      [segmentFileName(0), 200],
      [segmentFileName(200), 200],
      [segmentFileName(400), 100],
      [segmentFileName(500), 150],
    ]);
    assert.equal(segmentFileName(200), '0000000000000200.ndjson');
    assert.equal(journalEnd(dir), 650);
    assert.equal(journalStart(dir), 0);
    // One step at a time and all at once give the same lines, across segment boundaries.
    const stepwise = readAll(dir, 0, 1);
    assert.deepEqual(stepwise.lines.map((l) => JSON.parse(l).n), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.deepEqual(stepwise.offsets, [0, 50, 100, 150, 200, 250, 300, 350, 400, 450, 500, 550, 600]);
    assert.deepEqual(readJournal(dir, 0).lines.map((l) => l.line), stepwise.lines);
    assert.deepEqual(readJournal(dir, 450).lines.map((l) => l.offset), [450, 500, 550, 600]);
    // `until` stops at a boundary, even across segments.
    const until = readJournal(dir, 150, 1 << 20, 450);
    assert.deepEqual(until.lines.map((l) => l.offset), [150, 200, 250, 300, 350, 400]);
    assert.equal(until.next, 450);
  });

  test('a reopened writer appends to the last segment and keeps the offsets going', () => {
    const first = new JournalWriter(dir, { segmentBytes: 120 });
    first.append(lineOf(0));
    first.append(lineOf(1));
    first.append(lineOf(2));
    first.close();
    const second = new JournalWriter(dir, { segmentBytes: 120 });
    assert.equal(second.end, 150);
    assert.equal(second.append(lineOf(3)), 150);
    second.close();
    assert.deepEqual(readAll(dir).lines.map((l) => JSON.parse(l).n), [0, 1, 2, 3]);
    assert.deepEqual(listSegments(dir).map((s) => s.start), [0, 100]);
  });

  test('a torn last line (a crash mid-write) is cut off when the writer reopens', () => {
    const writer = new JournalWriter(dir);
    writer.append(lineOf(0) + lineOf(1));
    writer.close();
    const file = path.join(dir, segmentFileName(0));
    // Half a line, as a writer killed mid-write leaves it.
    fs.appendFileSync(file, lineOf(2).slice(0, 23));
    // Readers never see the torn part.
    const before = readJournal(dir, 0);
    assert.equal(before.lines.length, 2);
    assert.equal(before.next, 100);
    const recovered: Array<{ file: string; droppedBytes: number }> = [];
    const reopened = new JournalWriter(dir, { onRecovered: (info) => recovered.push(info) });
    assert.deepEqual(recovered, [{ file, droppedBytes: 23 }]);
    assert.equal(reopened.end, 100);
    assert.equal(reopened.append(lineOf(2)), 100);
    reopened.close();
    assert.equal(fs.statSync(file).size, 150);
    assert.deepEqual(readAll(dir).lines.map((l) => JSON.parse(l).n), [0, 1, 2]);
  });

  test('a segment holding only a torn line is cut to empty; a clean journal reports nothing', () => {
    const writer = new JournalWriter(dir, { segmentBytes: 100 });
    writer.append(lineOf(0) + lineOf(1));
    writer.append(lineOf(2));
    writer.close();
    const last = path.join(dir, segmentFileName(100));
    fs.writeFileSync(last, '{"n":2,"torn');
    const recovered: number[] = [];
    const reopened = new JournalWriter(dir, { segmentBytes: 100, onRecovered: (i) => recovered.push(i.droppedBytes) });
    assert.deepEqual(recovered, [12]);
    assert.equal(reopened.end, 100);
    reopened.append(lineOf(3));
    reopened.close();
    assert.deepEqual(readAll(dir).lines.map((l) => JSON.parse(l).n), [0, 1, 3]);
    const clean: number[] = [];
    new JournalWriter(dir, { onRecovered: (i) => clean.push(i.droppedBytes) }).close();
    assert.deepEqual(clean, []);
  });

  test('a torn line longer than the recovery window is cut too', () => {
    const writer = new JournalWriter(dir);
    writer.append(lineOf(0));
    writer.close();
    fs.appendFileSync(path.join(dir, segmentFileName(0)), 'y'.repeat(3 * 1024 * 1024));
    const dropped: number[] = [];
    const reopened = new JournalWriter(dir, { onRecovered: (i) => dropped.push(i.droppedBytes) });
    assert.deepEqual(dropped, [3 * 1024 * 1024]);
    assert.equal(reopened.end, 50);
    reopened.close();
  });

  test('reading from a pruned offset goes on at the oldest kept byte and says so', () => {
    const writer = new JournalWriter(dir, { segmentBytes: 100 });
    for (let i = 0; i < 6; i++) writer.append(lineOf(i));
    writer.close();
    fs.rmSync(path.join(dir, segmentFileName(0)));
    fs.rmSync(path.join(dir, segmentFileName(100)));
    assert.equal(journalStart(dir), 200);
    const result = readJournal(dir, 50);
    assert.equal(result.skippedTo, 200);
    assert.deepEqual(result.lines.map((l) => l.offset), [200, 250]);
    assert.deepEqual(readAll(dir, 0).lines.map((l) => JSON.parse(l).n), [4, 5]);
    assert.equal(readJournal(dir, 200).skippedTo, undefined);
  });

  test('one line longer than the read budget is returned whole, and never more than `until` allows', () => {
    const writer = new JournalWriter(dir);
    const big = lineOf(0, 300_000);
    writer.append(big);
    writer.append(lineOf(1));
    writer.append(lineOf(2));
    writer.close();
    const one = readJournal(dir, 0, 10);
    assert.equal(one.lines[0]!.line, big.slice(0, -1));
    assert.equal(one.lines[0]!.end, 300_000);
    // `until` at the end of the big line: the lines after it are not returned.
    const capped = readJournal(dir, 0, 10, 300_000);
    assert.deepEqual(capped.lines.map((l) => l.offset), [0]);
    assert.equal(capped.next, 300_000);
    assert.deepEqual(readAll(dir, 0, 10).offsets, [0, 300_000, 300_050]);
  });

  test('an incomplete last line (a writer mid-append) is not returned until complete', () => {
    const writer = new JournalWriter(dir);
    writer.append(lineOf(0));
    writer.close();
    const file = path.join(dir, segmentFileName(0));
    const next = lineOf(1);
    fs.appendFileSync(file, next.slice(0, 10));
    assert.deepEqual(readJournal(dir, 0).lines.map((l) => l.offset), [0]);
    assert.equal(readJournal(dir, 0).next, 50);
    assert.deepEqual(readJournal(dir, 50), { lines: [], next: 50 });
    fs.appendFileSync(file, next.slice(10));
    assert.deepEqual(readJournal(dir, 50).lines.map((l) => l.offset), [50]);
  });
});

describe('pruneJournal', () => {
  let tmp: { root: string; cleanup: () => void };
  let layout: Layout;
  beforeEach(() => {
    tmp = tempRoot();
    layout = initRoot(tmp.root);
  });
  afterEach(() => tmp.cleanup());

  /** Four segments of 100 bytes and an active one, the first `old` of them aged two hours. */
  function fill(old = 4): void {
    const writer = new JournalWriter(layout.journalDir, { segmentBytes: 100 });
    for (let i = 0; i < 10; i++) writer.append(lineOf(i));
    writer.close();
    const segments = listSegments(layout.journalDir);
    assert.equal(segments.length, 5);
    segments.slice(0, old).forEach((s) => age(s.file, 2 * HOUR));
  }

  const starts = () => listSegments(layout.journalDir).map((s) => s.start);

  test('deletes old segments, oldest first, never the active one', async () => {
    fill(5);
    const dry = await pruneJournal(layout, { olderThanMs: HOUR, dryRun: true });
    assert.deepEqual(dry.deleted, [0, 100, 200, 300].map(segmentFileName));
    assert.deepEqual(starts(), [0, 100, 200, 300, 400]);
    const result = await pruneJournal(layout, { olderThanMs: HOUR });
    assert.deepEqual(result.deleted, [0, 100, 200, 300].map(segmentFileName));
    assert.equal(result.bytes, 400);
    assert.deepEqual(starts(), [400]);
    // Offsets stay valid: the remaining lines keep theirs.
    assert.deepEqual(readAll(layout.journalDir).offsets, [400, 450]);
  });

  test('keeps segments newer than the cutoff', async () => {
    fill(2);
    const result = await pruneJournal(layout, { olderThanMs: HOUR });
    assert.deepEqual(result.deleted, [0, 100].map(segmentFileName));
    assert.equal(result.keptBecause, 'segments newer than the cutoff');
    assert.deepEqual(starts(), [200, 300, 400]);
  });

  test('never deletes past a saved delivery cursor', async () => {
    fill();
    await addAgent(layout, { name: 'dev-1', since: 0 });
    await writeCursors(layout, { 'inbox:dev-1': 250 });
    const result = await pruneJournal(layout, { olderThanMs: HOUR });
    assert.deepEqual(result.deleted, [0, 100].map(segmentFileName));
    assert.equal(result.oldestNeeded, 250);
    assert.equal(result.keptBecause, 'a cursor still needs offset 250');
    assert.deepEqual(starts(), [200, 300, 400]);
  });

  test('an agent without a cursor yet is protected from its registration offset on', async () => {
    fill();
    await addAgent(layout, { name: 'dev-1', since: 120 });
    const result = await pruneJournal(layout, { olderThanMs: HOUR });
    assert.deepEqual(result.deleted, [segmentFileName(0)]);
    assert.deepEqual(starts(), [100, 200, 300, 400]);
  });

  test('a cursor exactly at a segment boundary frees everything before it', async () => {
    fill();
    await addAgent(layout, { name: 'dev-1', since: 0 });
    await writeCursors(layout, { 'inbox:dev-1': 300 });
    const result = await pruneJournal(layout, { olderThanMs: HOUR });
    assert.deepEqual(result.deleted, [0, 100, 200].map(segmentFileName));
  });

  test('never deletes past a read position (bmad-bus read)', async () => {
    fill();
    await writeReadCursor(layout, 'dev-2', 150);
    const result = await pruneJournal(layout, { olderThanMs: HOUR });
    assert.deepEqual(result.deleted, [segmentFileName(0)]);
    assert.equal(result.oldestNeeded, 150);
  });

  test('cursors of removed agents and of agents that get nothing (deliver none) hold nothing back', async () => {
    fill();
    await addAgent(layout, { name: 'quiet', deliver: 'none', since: 0 });
    await writeCursors(layout, { 'inbox:gone': 0, 'inbox:quiet': 0 });
    const result = await pruneJournal(layout, { olderThanMs: HOUR });
    assert.equal(result.deleted.length, 4);
  });

  test('bmad-bus prune --older-than via the CLI', async () => {
    fill();
    await addAgent(layout, { name: 'dev-1', since: 0 });
    await writeCursors(layout, { 'inbox:dev-1': 200 });
    const dry = await cli(['--dir', tmp.root, 'prune', '--older-than', '1h', '--dry-run']);
    assert.equal(dry.stderr, '');
    assert.equal(dry.stdout, 'would delete 2 segment(s), 200 bytes; kept the rest (a cursor still needs offset 200)\n');
    assert.equal(dry.code, 0);
    assert.deepEqual(starts(), [0, 100, 200, 300, 400]);
    const young = await cli(['--dir', tmp.root, 'prune', '--older-than', '3h']);
    assert.equal(young.stdout, 'nothing to prune (segments newer than the cutoff)\n');
    assert.equal(young.code, 0);
    const real = await cli(['--dir', tmp.root, 'prune', '--older-than', '1h', '--json']);
    assert.equal(real.code, 0, real.stderr);
    const json = JSON.parse(real.stdout) as { deleted: string[]; bytes: number; oldestNeeded: number };
    assert.deepEqual(json.deleted, [0, 100].map(segmentFileName));
    assert.equal(json.bytes, 200);
    assert.equal(json.oldestNeeded, 200);
    assert.deepEqual(starts(), [200, 300, 400]);
    // Reading still works from the old offsets: it goes on at what is kept.
    assert.deepEqual(readAll(layout.journalDir, 0).lines.map((l) => JSON.parse(l).n), [4, 5, 6, 7, 8, 9]);
    const bad = await cli(['--dir', tmp.root, 'prune', '--older-than', 'soon']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'bmad-bus: Expected --older-than like 30s, 10m, 2h or 7d, got `soon`\n');
    const missing = await cli(['--dir', tmp.root, 'prune']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /required option '--older-than <duration>' not specified/);
  });
});
