import fs from 'node:fs';
import path from 'node:path';
import type { Origin } from '../bus/envelope.js';
import { derivedId } from '../bus/ids.js';
import type { Layout } from '../bus/layout.js';
import { deadLetterFor, type DeadLetter } from '../journal/dead-letters.js';
import { originOf, type Ingested } from './ingest.js';
import { HEADER_BYTES, comparePositions, listIntakeSegments, segmentFile, type IntakePosition } from './intake-format.js';
import { IntakeMarkFile, readIntakeMark, type IntakeMark } from './intake-mark.js';
import { IntakeReader, type ReadRecord } from './intake-reader.js';
import { LineSplitter } from './line-splitter.js';

/** What the consumer hands each line to: the router's validation, batch and dead-letter log. */
export interface IntakeConsumerHost {
  maxLineBytes: number;
  /** Validates and stamps one line; `makeId` gives the id fixed by where the line was read. */
  ingest(bytes: Buffer, origin: Origin, ts: number, makeId: () => string): Ingested;
  accept(result: Extract<Ingested, { kind: 'accepted' }>): void;
  /** True when a message with this id is in the journal already (a writer's id is an idempotency key). */
  seen(id: string): boolean;
  reject(record: DeadLetter): void;
  /** The journal's end now: the mark records it for the replay's id check. */
  journalEnd(): number;
  /** After each whole record: lines of one record are journaled together (the mark may then move past it). */
  afterRecord(): void;
  /** True when consuming must stop for now (the journal is behind or stalled). */
  mustPause(): boolean;
}

/** A pipe's line splitter, and where its line not yet complete began. */
interface PipeState {
  origin: Origin;
  splitter: LineSplitter;
  pending?: { at: IntakePosition; journalEnd: number };
}

/** While replaying after a crash: what the journal (or the dead-letter log) already has is skipped. */
export interface Replay {
  ids: Set<string>;
  deadIds: Set<string>;
}

/**
 * The router's side of the intake: reads its records in order, splits each
 * pipe's bytes into lines, and hands every line (with an id fixed by where
 * it was read, so a replay gives it again) to the router. After the lines
 * are journaled, `writeMark` moves the mark: replay after a crash starts at
 * the oldest record holding the start of a line not yet complete, else at
 * the end. Segments wholly before the mark are removed.
 */
export class IntakeConsumer {
  readonly markFile: IntakeMarkFile;
  readonly startMark: IntakeMark;
  private readonly reader: IntakeReader;
  private readonly pipes = new Map<string, PipeState>();
  private current = { ts: 0, generation: 0, offset: 0, line: 0 };
  private replay: Replay | undefined;
  private lastMark = '';
  private removedBefore = 0;

  constructor(private readonly layout: Layout, private readonly host: IntakeConsumerHost) {
    const first = listIntakeSegments(layout.journalDir)[0] ?? 1;
    this.startMark = readIntakeMark(layout.intakeMarkFile) ?? { at: { seq: first, offset: HEADER_BYTES }, journalEnd: 0 };
    this.markFile = new IntakeMarkFile(layout.intakeMarkFile);
    this.reader = new IntakeReader(layout.journalDir, this.startMark.at);
  }

  /** Lines met during a replay that the journal already has are skipped (`ids`, `deadIds`). */
  setReplay(replay: Replay | undefined): void {
    this.replay = replay;
  }

  get replaying(): boolean {
    return this.replay !== undefined;
  }

  /**
   * Consumes the records there are (up to `until`, the writer's end, when
   * known), up to about `budget` bytes (the event loop gets a turn between
   * calls). Returns the records read, and whether
   * it stopped with more left.
   */
  consume(budget = 4 * 1024 * 1024, until?: IntakePosition): { records: number; more: boolean } {
    let records = 0;
    let bytes = 0;
    for (const record of this.reader.read(until)) {
      this.parse(record);
      this.host.afterRecord();
      records++;
      bytes += record.data.length;
      if (bytes >= budget || this.host.mustPause()) return { records, more: true };
    }
    return { records, more: false };
  }

  /** The mark for what has been journaled so far. */
  mark(): IntakeMark {
    let at = this.reader.position;
    let journalEnd = this.host.journalEnd();
    for (const state of this.pipes.values()) {
      if (state.pending && comparePositions(state.pending.at, at) < 0) {
        at = state.pending.at;
        journalEnd = state.pending.journalEnd;
      }
    }
    return { at, journalEnd };
  }

  /** Call once the lines handed over are journaled. */
  writeMark(): void {
    const mark = this.mark();
    const key = `${mark.at.seq} ${mark.at.offset} ${mark.journalEnd}`;
    if (key === this.lastMark) return;
    this.markFile.write(mark);
    this.lastMark = key;
    if (mark.at.seq > this.removedBefore) this.removeBefore(mark.at.seq);
  }

  close(): void {
    this.reader.close();
    this.markFile.close();
  }

  private parse(record: ReadRecord): void {
    const state = this.stateFor(record.pipe);
    if (!state) return;
    this.current = { ts: record.ts, generation: record.generation, offset: record.at.offset, line: 0 };
    state.splitter.push(record.data);
    if (state.splitter.pendingBytes === 0) state.pending = undefined;
    else if (!state.pending || record.data.includes(0x0a)) state.pending = { at: record.at, journalEnd: this.host.journalEnd() };
  }

  private stateFor(pipe: string): PipeState | undefined {
    let state = this.pipes.get(pipe);
    if (state) return state;
    const origin = originOf(this.layout, path.join(this.layout.root, pipe));
    if (!origin) return undefined;
    state = {
      origin,
      splitter: new LineSplitter(
        this.host.maxLineBytes,
        (line) => this.onLine(line, origin),
        (head, bytes) => this.onOversize(head, bytes, origin),
      ),
    };
    this.pipes.set(pipe, state);
    return state;
  }

  /** The id of the `n`th line of the record being parsed: the same on every replay. */
  private idOf(n: number): string {
    return derivedId(this.current.ts, this.current.generation, this.current.offset * 2 ** 15 + n);
  }

  private onLine(bytes: Buffer, origin: Origin): void {
    const n = this.current.line;
    // Every line uses one number of its record, whether it needed an id or not.
    const result = this.host.ingest(bytes, origin, this.current.ts, () => this.idOf(n));
    this.current.line = n + 1;
    if (result.kind === 'blank') return;
    if (result.kind === 'rejected') {
      const id = this.idOf(n);
      if (this.replay?.deadIds.has(id)) return;
      if (this.replay && result.error.reason === 'invalid_spool') return; // journaled, then its spool file removed
      this.host.reject(deadLetterFor(result.error.reason, result.error.message, bytes, { pipe: origin.pipe, id }));
      return;
    }
    const id = result.normalized.envelope.id;
    if (this.replay?.ids.has(id)) return;
    if (this.host.seen(id)) {
      const lineId = this.idOf(n);
      if (this.replay?.deadIds.has(lineId)) return;
      this.host.reject(
        deadLetterFor('duplicate_id', `A message with id ${id} is in the journal already: a writer's id is an idempotency key, so this one was not journaled again`, bytes, {
          pipe: origin.pipe,
          id: lineId,
          duplicate_of: id,
        }),
      );
      return;
    }
    this.host.accept(result);
  }

  private onOversize(head: Buffer, bytes: number, origin: Origin): void {
    const id = this.idOf(this.current.line++);
    if (this.replay?.deadIds.has(id)) return;
    this.host.reject(
      deadLetterFor('too_long', `Line longer than ${this.host.maxLineBytes} bytes (${bytes}+ bytes) skipped to the next newline`, head, { pipe: origin.pipe, bytes, id }),
    );
  }

  private removeBefore(seq: number): void {
    for (const s of listIntakeSegments(this.layout.journalDir)) {
      if (s >= seq) break;
      fs.rmSync(segmentFile(this.layout.journalDir, s), { force: true });
    }
    this.removedBefore = seq;
  }
}
