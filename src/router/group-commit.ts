import fs from 'node:fs';
import { BusError } from '../bus/errors.js';
import type { DeliveryItem } from '../bus/delivery.js';
import type { Normalized } from '../bus/envelope.js';
import type { Durability, JournalWriter } from '../journal/writer.js';
import { JournalStall, type LineBatch } from './journal-stall.js';

/** A message accepted into the journal, with where it sits. */
export interface Accepted extends DeliveryItem {
  /** The spool file it came from (a long message), removed once the message is durable. */
  spoolFile?: string;
}

// Pause intake while this much is written but not yet durable (a slow disk).
const MAX_UNSYNCED_BYTES = 64 * 1024 * 1024;

export interface GroupCommitHost {
  /** Lines are in the journal (not yet durable). */
  appended(count: number): void;
  /** One durable message, in journal order. */
  dispatch(accepted: Accepted): void;
  /** Every message before `end` was dispatched. */
  dispatched(end: number): void;
  /** Intake may go on: little is left to make durable, or the disk has room again. */
  resume(): void;
  /** The disk is full: the journal took nothing. */
  stallBegan(error: Error): void;
  /** The disk took every batch that waited, `ms` after it filled. */
  stallEnded(ms: number): void;
  closed(): boolean;
  fail(error: Error): void;
}

/**
 * Appends accepted lines to the journal and hands each on once it is durable
 * (per batch: one fsync covers everything written while the previous one
 * ran; per message; or at once with durability `never`). A batch the journal
 * cannot take waits in the stall, and every later one behind it.
 */
export class GroupCommit {
  private readonly stall: JournalStall;
  /** Written to the journal, waiting for fsync before dispatch. */
  private unsynced: Accepted[] = [];
  private unsyncedBytes = 0;
  private syncing = false;

  constructor(private readonly journal: JournalWriter, private readonly durability: Durability, private readonly host: GroupCommitHost) {
    this.stall = new JournalStall({
      append: (batch) => this.append(batch.lines, batch.spools),
      began: (error) => host.stallBegan(error),
      ended: (ms) => host.stallEnded(ms),
      closed: () => host.closed(),
    });
  }

  /** Set while the disk is full. */
  get diskFullSince(): Date | undefined {
    return this.stall.since;
  }

  /** True while batches wait for the disk: the intake's mark must not move past them. */
  get stalled(): boolean {
    return this.stall.active;
  }

  /** True when intake must wait: batches wait for the disk, or too much is not yet durable. */
  mustPause(): boolean {
    return this.stall.active || this.unsyncedBytes > MAX_UNSYNCED_BYTES;
  }

  /** Journals lines; false when the journal could not take them (they wait in the stall, or its retry goes on). */
  append(lines: Normalized[], spools: (string | undefined)[]): boolean {
    const batch: LineBatch = { lines, spools };
    if (this.stall.active && !this.stall.retrying) {
      this.stall.queue(batch);
      return false;
    }
    const text = lines.length === 1 ? `${lines[0]!.line}\n` : `${lines.map((l) => l.line).join('\n')}\n`;
    // Encoded once; when every character took one byte (ASCII, the usual case) a
    // line's length is its byte count and no line needs counting on its own.
    const bytes = Buffer.from(text, 'utf8');
    const ascii = bytes.length === text.length;
    let start: number;
    try {
      start = this.journal.append(bytes);
    } catch (error) {
      // A full disk: keep these lines, consume nothing more (the intake keeps the rest), retry.
      if (!this.stall.retrying) this.stall.begin(batch, error as Error);
      return false;
    }
    let offset = start;
    for (let i = 0; i < lines.length; i++) {
      const { envelope, line } = lines[i]!;
      const end = offset + (ascii ? line.length : Buffer.byteLength(line)) + 1;
      const accepted: Accepted = { offset, end, line, envelope };
      if (spools[i]) accepted.spoolFile = spools[i]!;
      this.unsynced.push(accepted);
      offset = end;
    }
    this.unsyncedBytes += offset - start;
    this.host.appended(lines.length);
    if (this.durability === 'message') {
      this.journal.syncNow();
      this.dispatchDurable();
    } else if (this.durability === 'never') {
      this.dispatchDurable();
    } else {
      this.scheduleSync();
    }
    return true;
  }

  /** Hands every durable message on, in order. */
  dispatchDurable(): void {
    const durableEnd = this.durability === 'never' ? this.journal.end : this.journal.durableEnd;
    let n = 0;
    while (n < this.unsynced.length && this.unsynced[n]!.end <= durableEnd) n++;
    if (n === 0) return;
    const batch = this.unsynced.splice(0, n);
    for (const accepted of batch) {
      this.unsyncedBytes -= accepted.end - accepted.offset;
      this.host.dispatch(accepted);
      if (accepted.spoolFile) fs.rm(accepted.spoolFile, { force: true }, () => undefined);
    }
    this.host.dispatched(batch.at(-1)!.end);
    if (this.unsyncedBytes < MAX_UNSYNCED_BYTES / 2) this.host.resume();
  }

  /**
   * After the intake replay at start: what it recovered is made durable and
   * not dispatched; it reaches its consumers by the journal, like any backlog.
   */
  settleReplay(): void {
    if (!this.stall.active) this.journal.syncNow();
    this.unsynced = [];
    this.unsyncedBytes = 0;
  }

  close(): void {
    this.stall.close();
  }

  /** Group commit: one fsync covers everything written while the previous one ran. */
  private scheduleSync(): void {
    if (this.syncing) return;
    this.syncing = true;
    // One fdatasync per round, then dispatch: `sync()` would chase the appends made
    // meanwhile and, under steady intake, hold everything back until 64 MB piled up.
    void this.journal.syncOnce().then(
      () => {
        this.syncing = false;
        this.dispatchDurable();
        if (this.unsynced.length > 0) this.scheduleSync();
      },
      (error: unknown) => {
        this.syncing = false;
        this.host.fail(new BusError(`Journal fsync failed: ${(error as Error).message}`, { cause: error }));
      },
    );
  }
}
