import fs from 'node:fs';
import { unlessFsRace } from '../bus/errors.js';
import { listSegments, type Segment } from './segments.js';

export interface JournalLine {
  /** Global offset of the line's first byte, and of the byte after its newline. */
  offset: number;
  end: number;
  line: string;
}

export interface ReadResult {
  lines: JournalLine[];
  /** Where to read on from next time. */
  next: number;
  /** Set when `from` pointed into pruned segments: reading went on at the oldest kept byte. */
  skippedTo?: number;
}

/**
 * Reads whole lines from `from` on, at most about `maxBytes` of them (always
 * at least one line if one is there), never past `until` (default: the end
 * of what is on disk). Stops at a line not yet complete.
 */
export function readJournal(dir: string, from: number, maxBytes = 1024 * 1024, until = Infinity): ReadResult {
  const segments = listSegments(dir);
  const lines: JournalLine[] = [];
  let next = from;
  let skippedTo: number | undefined;
  const first = segments[0];
  if (first && from < first.start) {
    next = first.start;
    skippedTo = first.start;
  }
  let budget = maxBytes;
  for (let i = 0; i < segments.length && budget > 0; i++) {
    const segment = segments[i]!;
    const segmentEnd = segment.start + segment.size;
    if (segmentEnd <= next) continue;
    if (next < segment.start) next = segment.start; // a gap (should not happen): go on at the next segment
    const stop = Math.min(segmentEnd, until);
    if (stop <= next) break;
    const read = readSegment(segment, next, Math.min(stop - next, Math.max(budget, 64 * 1024)), stop - next, lines);
    budget -= read;
    next += read;
    if (next < segmentEnd) break; // a partial line, or the budget is spent
  }
  return { lines, next, ...(skippedTo !== undefined ? { skippedTo } : {}) };
}

/**
 * Reads complete lines of one segment from global offset `from`; returns the
 * bytes consumed. `length` is what to read first; a longer line makes it read
 * on, but never past `limit` bytes (the caller's `until`).
 */
function readSegment(segment: Segment, from: number, length: number, limit: number, out: JournalLine[]): number {
  // A segment pruned since it was listed has nothing to give.
  const fd = unlessFsRace(() => fs.openSync(segment.file, 'r'), undefined, ['ENOENT']);
  if (fd === undefined) return 0;
  try {
    let buffer = Buffer.allocUnsafe(length);
    let got = fs.readSync(fd, buffer, 0, length, from - segment.start);
    let consumed = scan(buffer.subarray(0, got), from, out);
    // A single line longer than the budget: read on until its newline. Never past
    // `limit`: lines after `until` may not be durable yet (a consumer would get them twice).
    while (consumed === 0 && got === buffer.length && buffer.length < limit) {
      const bigger = Buffer.allocUnsafe(Math.min(buffer.length * 2, limit));
      buffer.copy(bigger, 0, 0, got);
      got += fs.readSync(fd, bigger, got, bigger.length - got, from - segment.start + got);
      buffer = bigger;
      consumed = scan(buffer.subarray(0, got), from, out);
      if (got < buffer.length) break;
    }
    return consumed;
  } finally {
    fs.closeSync(fd);
  }
}

function scan(buffer: Buffer, base: number, out: JournalLine[]): number {
  let start = 0;
  for (;;) {
    const nl = buffer.indexOf(0x0a, start);
    if (nl < 0) break;
    if (nl > start) out.push({ offset: base + start, end: base + nl + 1, line: buffer.toString('utf8', start, nl) });
    start = nl + 1;
  }
  return start;
}

/** Every whole line from `from` up to `until`, read a few MiB at a time (the one way to walk the journal). */
export function* journalLines(dir: string, from: number, until = Infinity, chunkBytes = 4 * 1024 * 1024): Generator<JournalLine> {
  let position = from;
  while (position < until) {
    const { lines, next } = readJournal(dir, position, chunkBytes, until);
    yield* lines;
    if (next === position) return;
    position = next;
  }
}
