import type { Normalized, Origin } from '../bus/envelope.js';
import type { Layout } from '../bus/layout.js';
import type { DeadLetter } from '../journal/dead-letters.js';
import type { IntakePosition } from './intake-format.js';
import { IntakeConsumer, type Replay } from './intake-consumer.js';
import type { IntakeMark } from './intake-mark.js';
import type { Ingested } from './ingest.js';

// Parsed lines waiting for the end of the event-loop turn are journaled at once past this.
const MAX_BATCH_BYTES = 1024 * 1024;

export interface IntakeDrainHost {
  readonly maxLineBytes: number;
  /** Validates and stamps one line (see IntakeConsumerHost). */
  ingest(bytes: Buffer, origin: Origin, ts: number, makeId: () => string): Ingested;
  /** True when a message with this id is in the journal already. */
  seen(id: string): boolean;
  reject(record: DeadLetter): void;
  /** An accepted line, as it is parsed (before it is journaled). */
  parsed(normalized: Normalized): void;
  /** Journals a batch of parsed lines, in order. */
  append(lines: Normalized[], spools: (string | undefined)[]): void;
  journalEnd(): number;
  /** True while batches wait for the disk: the mark must not move past them. */
  stalled(): boolean;
  /** True when consuming must stop for now (the journal is behind or stalled). */
  mustPause(): boolean;
  closed(): boolean;
  /** Where the intake's writer stands, when known (else the files are looked at). */
  writerEnd(): IntakePosition | undefined;
}

/**
 * Moves what the intake holds into the journal: a bounded stretch per turn
 * of the event loop, the lines parsed in one turn journaled as one batch,
 * and the intake's mark moved only once they are journaled (never past a
 * batch that waits for the disk), so a crash replays from before them.
 */
export class IntakeDrain {
  private readonly intake: IntakeConsumer;
  private lines: Normalized[] = [];
  private spools: (string | undefined)[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor(layout: Layout, private readonly host: IntakeDrainHost) {
    this.intake = new IntakeConsumer(layout, {
      maxLineBytes: host.maxLineBytes,
      ingest: (bytes, origin, ts, makeId) => host.ingest(bytes, origin, ts, makeId),
      accept: (result) => this.add(result.normalized, result.spoolFile),
      seen: (id) => host.seen(id),
      reject: (record) => host.reject(record),
      journalEnd: () => host.journalEnd(),
      afterRecord: () => {
        if (this.bytes > MAX_BATCH_BYTES) this.flush();
      },
      mustPause: () => host.mustPause(),
    });
  }

  /** Where the replay at start begins (the mark left by the last run). */
  get startMark(): IntakeMark {
    return this.intake.startMark;
  }

  /** Reads what the intake has now into the journal; `scan` looks at the files rather than trust the writer's end. */
  consume(scan = false): void {
    if (this.host.closed() || this.scheduled || this.host.mustPause()) return;
    const { more } = this.intake.consume(undefined, scan ? undefined : this.host.writerEnd());
    this.flush();
    if (more && !this.host.mustPause()) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.consume();
      });
    }
  }

  /**
   * After a crash: consumes again every read after the mark. Lines `known`
   * holds are skipped; a line not yet complete goes on with the reads after
   * it. Returns the reads consumed.
   */
  replay(known: Replay): number {
    this.intake.setReplay(known);
    let records = 0;
    for (;;) {
      const result = this.intake.consume(Infinity);
      records += result.records;
      this.flush();
      if (!result.more || this.host.stalled()) break;
    }
    this.intake.setReplay(undefined);
    return records;
  }

  /** At close: journals everything the intake still has (as far as the journal takes it). */
  finish(): void {
    while (this.intake.consume().more && !this.host.mustPause()) this.flush();
    this.flush();
  }

  /** Journals the lines parsed so far, then moves the mark past their reads. */
  flush(): void {
    if (this.lines.length > 0) {
      const lines = this.lines;
      const spools = this.spools;
      this.lines = [];
      this.spools = [];
      this.bytes = 0;
      this.host.append(lines, spools);
    }
    if (!this.host.stalled()) this.intake.writeMark();
  }

  /** The disk has room again and every waiting batch is journaled: the mark may move. */
  writeMark(): void {
    this.intake.writeMark();
  }

  close(): void {
    this.intake.close();
  }

  private add(normalized: Normalized, spoolFile: string | undefined): void {
    this.host.parsed(normalized);
    this.lines.push(normalized);
    this.spools.push(spoolFile);
    this.bytes += normalized.line.length;
  }
}
