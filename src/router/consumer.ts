import { decodeJournalLine, type Envelope } from '../bus/envelope.js';
import { readJournal } from '../journal/reader.js';
import type { DeliveryItem, DeliveryResult, Sink } from '../bus/delivery.js';

/** What a consumer needs from the router. */
export interface ConsumerHost {
  readonly journalDir: string;
  /** Offset up to which batches have been handed to live consumers (≤ the durable end). */
  dispatchedEnd(): number;
  /** Whether a journaled message is for this consumer's agent. */
  isFor(envelope: Envelope, agent: string): boolean;
  onDelivered(consumer: Consumer, items: DeliveryItem[]): void;
  log(line: string): void;
}

export interface ConsumerLimits {
  /** Items handed to the sink in one `deliver` call. */
  batchItems: number;
  batchBytes: number;
  /** A live consumer whose queue grows past this falls back to reading the journal (memory stays bounded). */
  queueItems: number;
  queueBytes: number;
}

export const INBOX_LIMITS: ConsumerLimits = { batchItems: 4096, batchBytes: 256 * 1024, queueItems: 4096, queueBytes: 512 * 1024 };
export const PANE_LIMITS: ConsumerLimits = { batchItems: 64, batchBytes: 256 * 1024, queueItems: 1024, queueBytes: 1024 * 1024 };

/**
 * Delivers one agent's messages to one sink, in journal order, at least once.
 *
 * While *live* it is handed each new batch as it is dispatched; when it falls
 * behind (no reader, a slow pane) it drops what it queued and reads on from
 * the journal at its own pace instead, so a backlog lives on disk, never in
 * memory. `cursor` is the offset before which everything for it was handed
 * over: the router persists it.
 */
export class Consumer {
  readonly key: string;
  readonly agent: string;
  /** Messages for this consumer at or after the cursor (kept by the router as it dispatches). */
  undelivered = 0;
  deliveredTotal = 0;
  /** Why delivery is waiting, when it is. */
  waiting: string | undefined;
  private inflight: DeliveryItem[] = [];
  private queue: DeliveryItem[] = [];
  private queueBytes = 0;
  /** Everything before this offset is delivered, in flight or queued. */
  private scanPos: number;
  private live = false;
  private busy = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private pumpScheduled = false;

  constructor(
    key: string,
    agent: string,
    readonly sink: Sink,
    start: number,
    private readonly host: ConsumerHost,
    private readonly limits: ConsumerLimits,
  ) {
    this.key = key;
    this.agent = agent;
    this.scanPos = start;
    sink.onWake?.(() => this.wake());
  }

  get cursor(): number {
    return this.inflight[0]?.offset ?? this.queue[0]?.offset ?? this.scanPos;
  }

  get isLive(): boolean {
    return this.live;
  }

  /** A new journaled message for this consumer (called in journal order, only while live). */
  offer(item: DeliveryItem): void {
    if (!this.live) return;
    if (this.queue.length >= this.limits.queueItems || this.queueBytes >= this.limits.queueBytes) {
      // Too far behind to keep in memory: read on from the journal later.
      this.scanPos = this.queue[0]?.offset ?? item.offset;
      this.queue = [];
      this.queueBytes = 0;
      this.live = false;
      return;
    }
    this.queue.push(item);
    this.queueBytes += item.line.length;
  }

  /** A batch up to `end` was dispatched: a live consumer has now seen everything before it. */
  advance(end: number): void {
    if (this.live) this.scanPos = end;
    this.schedulePump();
  }

  wake(): void {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    this.schedulePump();
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    return this.sink.close();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.busy || this.closed || this.retryTimer) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.busy || this.closed || this.retryTimer) return;
    if (this.queue.length === 0 && !this.live) this.catchUp();
    if (this.queue.length === 0) {
      if (!this.live) this.retryLater(100); // the journal had no complete line yet
      return;
    }
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length && count < this.limits.batchItems && bytes < this.limits.batchBytes) {
      bytes += this.queue[count]!.line.length;
      count++;
    }
    const batch = this.queue.splice(0, count);
    this.queueBytes -= bytes;
    this.inflight = batch;
    this.busy = true;
    void this.sink.deliver(batch).then(
      (result) => this.settle(batch, result),
      (error: unknown) => this.settle(batch, { delivered: 0, retryAfterMs: 1000, waiting: `delivery failed: ${String(error)}` }),
    );
  }

  private settle(batch: DeliveryItem[], result: DeliveryResult): void {
    this.busy = false;
    this.inflight = [];
    const done = batch.slice(0, result.delivered);
    const rest = batch.slice(result.delivered);
    if (done.length > 0) {
      this.undelivered = Math.max(0, this.undelivered - done.length);
      this.deliveredTotal += done.length;
      this.host.onDelivered(this, done);
    }
    if (this.closed) return;
    if (result.rewindTo !== undefined && result.rewindTo < (rest[0]?.offset ?? this.cursor)) {
      this.rewind(result.rewindTo, rest[0]?.offset ?? this.cursor);
    } else if (rest.length > 0) {
      this.queue = [...rest, ...this.queue];
      this.queueBytes += rest.reduce((n, i) => n + i.line.length, 0);
    }
    // A sink may report a state with nothing left (a pane that took a message unconfirmed): status shows it until the next delivery.
    this.waiting = rest.length > 0 ? (result.waiting ?? 'waiting') : result.waiting;
    if (rest.length > 0) this.retryLater(result.retryAfterMs ?? 250);
    else this.schedulePump();
  }

  private retryLater(ms: number): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, ms);
  }

  /** Messages already handed over may not have reached the agent: deliver again from `to` (same ids). */
  private rewind(to: number, from: number): void {
    const { lines } = readJournal(this.host.journalDir, to, Math.max(64 * 1024, from - to), from);
    let again = 0;
    for (const l of lines) if (this.host.isFor(decodeJournalLine(l.line), this.agent)) again++;
    this.undelivered += again;
    this.host.log(`${this.key}: reader left; re-delivering ${again} message(s) it may not have read`);
    this.queue = [];
    this.queueBytes = 0;
    this.scanPos = to;
    this.live = false;
  }

  /** Reads the next stretch of the journal for this consumer's messages. */
  private catchUp(): void {
    const until = this.host.dispatchedEnd();
    while (this.queue.length === 0 && this.scanPos < until) {
      const result = readJournal(this.host.journalDir, this.scanPos, this.limits.batchBytes, until);
      if (result.skippedTo !== undefined) this.host.log(`${this.key}: journal before ${result.skippedTo} was pruned; going on from there`);
      for (const l of result.lines) {
        const envelope = decodeJournalLine(l.line);
        if (this.host.isFor(envelope, this.agent)) {
          this.queue.push({ offset: l.offset, end: l.end, line: l.line, envelope });
          this.queueBytes += l.line.length;
        }
      }
      if (result.next === this.scanPos) break; // nothing complete yet
      this.scanPos = result.next;
    }
    // Reached what was dispatched: new batches follow what is queued, in order.
    if (this.scanPos >= until) this.live = true;
  }
}
