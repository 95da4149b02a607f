import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LineSplitter } from '../../src/router/line-splitter.js';

type Event = { line: string } | { oversize: string; bytes: number };

/** A small seeded PRNG (mulberry32), so a failing random split can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Feeds `input` split into the given chunks; returns what the splitter reported. */
function feed(maxBytes: number, input: Buffer, chunkSizes: (remaining: number) => number): { events: Event[]; pending: number } {
  const events: Event[] = [];
  const splitter = new LineSplitter(
    maxBytes,
    (line) => events.push({ line: line.toString('utf8') }),
    (head, bytes) => events.push({ oversize: head.toString('utf8'), bytes }),
  );
  let at = 0;
  while (at < input.length) {
    const size = Math.max(1, Math.min(chunkSizes(input.length - at), input.length - at));
    // A fresh copy per chunk: the splitter must not depend on chunks sharing memory.
    splitter.push(Buffer.from(input.subarray(at, at + size)));
    at += size;
  }
  return { events, pending: splitter.pendingBytes };
}

const whole = (maxBytes: number, input: Buffer) => feed(maxBytes, input, (n) => n);
const byByte = (maxBytes: number, input: Buffer) => feed(maxBytes, input, () => 1);
const byRandom = (maxBytes: number, input: Buffer, seed: number) => {
  const rnd = random(seed);
  return feed(maxBytes, input, () => 1 + Math.floor(rnd() * 64));
};

/** The lines only (oversize reports differ in their byte count by where the chunk ended). */
const linesOf = (events: Event[]) => events.map((e) => ('line' in e ? e.line : `<oversize ${e.oversize.slice(0, 16)}>`));

describe('LineSplitter', () => {
  const input = Buffer.from(
    [
      '{"to":"dev-1","body":"hello"}',
      'plain text line',
      '',
      '   ',
      'ünïcödé — 日本語 — emoji 🎉',
      JSON.stringify({ to: 'a', body: 'x'.repeat(300) }),
      'last',
    ].join('\n') + '\n',
  );

  test('byte-at-a-time and random chunks give the same lines as whole chunks', () => {
    const expected = whole(1024, input);
    assert.deepEqual(linesOf(expected.events), [
      '{"to":"dev-1","body":"hello"}',
      'plain text line',
      '',
      '   ',
      'ünïcödé — 日本語 — emoji 🎉',
      JSON.stringify({ to: 'a', body: 'x'.repeat(300) }),
      'last',
    ]);
    assert.equal(expected.pending, 0);
    assert.deepEqual(byByte(1024, input).events, expected.events);
    for (let seed = 1; seed <= 50; seed++) {
      assert.deepEqual(byRandom(1024, input, seed).events, expected.events, `seed ${seed}`);
    }
  });

  test('a multi-byte character split across chunks comes out whole', () => {
    const text = Buffer.from('日本\n🎉🎉\n');
    for (let cut = 1; cut < text.length; cut++) {
      const { events } = feed(100, text, (n) => (n === text.length ? cut : n));
      assert.deepEqual(linesOf(events), ['日本', '🎉🎉'], `cut at ${cut}`);
    }
  });

  test('a line without its newline waits (pending) and is completed by the next chunk', () => {
    const events: string[] = [];
    const splitter = new LineSplitter(100, (l) => events.push(l.toString()), () => assert.fail('no oversize expected'));
    splitter.push(Buffer.from('{"to":"a",'));
    assert.deepEqual(events, []);
    assert.equal(splitter.pendingBytes, 10);
    splitter.push(Buffer.from('"body":1}'));
    assert.equal(splitter.pendingBytes, 19);
    splitter.push(Buffer.from('\nnext'));
    assert.deepEqual(events, ['{"to":"a","body":1}']);
    assert.equal(splitter.pendingBytes, 4);
  });

  test('an oversize line is reported once and the stream resynchronises at the next newline', () => {
    const max = 64;
    const big = 'B'.repeat(1000);
    const data = Buffer.from(`before\n${big}\nafter\n${'C'.repeat(65)}\n${'D'.repeat(64)}\nend\n`);
    const check = (result: { events: Event[]; pending: number }, how: string): void => {
      const events = result.events;
      assert.deepEqual(linesOf(events), ['before', '<oversize BBBBBBBBBBBBBBBB>', 'after', '<oversize CCCCCCCCCCCCCCCC>', 'D'.repeat(64), 'end'], how);
      const oversize = events.filter((e): e is { oversize: string; bytes: number } => 'oversize' in e);
      assert.equal(oversize.length, 2, how);
      // The head is the line's beginning (at most 256 bytes), the count at least past the limit.
      assert.equal(oversize[0]!.oversize, 'B'.repeat(Math.min(256, oversize[0]!.bytes)), how);
      assert.ok(oversize[0]!.bytes > max && oversize[0]!.bytes <= 1000, `${how}: ${oversize[0]!.bytes}`);
      assert.ok(oversize[1]!.bytes > max && oversize[1]!.bytes <= 65, `${how}: ${oversize[1]!.bytes}`);
      assert.equal(result.pending, 0, how);
    };
    const all = whole(max, data);
    check(all, 'whole');
    // Whole-chunk feeding sees the full length of the line.
    assert.equal((all.events[1] as { bytes: number }).bytes, 1000);
    check(byByte(max, data), 'byte at a time');
    for (let seed = 1; seed <= 50; seed++) check(byRandom(max, data, seed), `seed ${seed}`);
  });

  test('an oversize line still without its newline reports once and holds no memory', () => {
    const events: Event[] = [];
    const splitter = new LineSplitter(
      16,
      (line) => events.push({ line: line.toString() }),
      (head, bytes) => events.push({ oversize: head.toString(), bytes }),
    );
    for (let i = 0; i < 10_000; i++) splitter.push(Buffer.from('xxxxxxxx'));
    assert.equal(events.length, 1);
    assert.equal(splitter.pendingBytes, 0);
    splitter.push(Buffer.from('tail of the big one\nok\n'));
    assert.deepEqual(linesOf(events), ['<oversize xxxxxxxxxxxxxxxx>', 'ok']);
  });

  test('a line of exactly maxBytes is accepted, one byte more is not', () => {
    for (const [how, run] of [
      ['whole', (d: Buffer) => whole(10, d)],
      ['byte', (d: Buffer) => byByte(10, d)],
    ] as const) {
      const { events } = run(Buffer.from('0123456789\n0123456789A\nz\n'));
      assert.deepEqual(linesOf(events), ['0123456789', '<oversize 0123456789A>', 'z'], how);
    }
  });

  test('CRLF: the CR stays on the line (the envelope parser strips it), in any chunking', () => {
    const data = Buffer.from('one\r\ntwo\r\n\r\nthree\n');
    const expected = ['one\r', 'two\r', '\r', 'three'];
    assert.deepEqual(linesOf(whole(100, data).events), expected);
    assert.deepEqual(linesOf(byByte(100, data).events), expected);
    for (let seed = 1; seed <= 20; seed++) assert.deepEqual(linesOf(byRandom(100, data, seed).events), expected);
  });

  test('many random lines, random chunks: identical to whole-chunk feeding', () => {
    const rnd = random(42);
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(rnd() * (rnd() < 0.05 ? 400 : 120));
      let s = '';
      for (let j = 0; j < len; j++) s += String.fromCharCode(0x20 + Math.floor(rnd() * 95));
      lines.push(rnd() < 0.1 ? `${s}\r` : s);
    }
    const data = Buffer.from(lines.join('\n') + '\n');
    const expected = whole(256, data);
    for (let seed = 100; seed < 110; seed++) {
      assert.deepEqual(linesOf(byRandom(256, data, seed).events), linesOf(expected.events), `seed ${seed}`);
    }
    assert.deepEqual(linesOf(byByte(256, data).events), linesOf(expected.events));
    assert.equal(expected.events.filter((e) => 'line' in e).length + expected.events.filter((e) => 'oversize' in e).length, 2000);
  });
});
