import type { Normalized } from '../bus/envelope.js';

/** Lines for the journal, each with the spool file to remove once it is durable. */
export interface LineBatch {
  lines: Normalized[];
  spools: (string | undefined)[];
}

// A batch the journal could not take is retried in pieces of this size.
export const STALL_PIECE_BYTES = 64 * 1024;
const RETRY_MS = 1000;

/** Cuts a batch into pieces of about `pieceBytes` (one line at least): a nearly full disk takes a small piece where a whole batch would not fit. */
export function piecesOf(batch: LineBatch, pieceBytes = STALL_PIECE_BYTES): LineBatch[] {
  const { lines, spools } = batch;
  const pieces: LineBatch[] = [];
  for (let i = 0; i < lines.length; ) {
    let bytes = 0;
    let j = i;
    while (j < lines.length && (j === i || bytes + lines[j]!.line.length < pieceBytes)) bytes += lines[j++]!.line.length + 1;
    pieces.push({ lines: lines.slice(i, j), spools: spools.slice(i, j) });
    i = j;
  }
  return pieces;
}

export interface JournalStallHost {
  /** Tries the journal again with one batch; false when it still cannot take it. */
  append(batch: LineBatch): boolean;
  /** The journal refused a first batch. */
  began(error: Error): void;
  /** Every waiting batch is journaled, `ms` after the stall began. */
  ended(ms: number): void;
  closed(): boolean;
}

/**
 * Batches the journal could not take (a full disk), in order. While any
 * waits, the router consumes nothing more (the intake keeps the rest, and
 * nothing is lost); they are retried every second, oldest first.
 */
export class JournalStall {
  private readonly waiting: LineBatch[] = [];
  private startedAt: Date | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryingNow = false;

  constructor(private readonly host: JournalStallHost, private readonly retryMs = RETRY_MS) {}

  /** True while batches wait: new ones must queue behind them. */
  get active(): boolean {
    return this.waiting.length > 0;
  }

  /** True while the waiting batches are appended again: a refusal then leaves them where they are. */
  get retrying(): boolean {
    return this.retryingNow;
  }

  get since(): Date | undefined {
    return this.startedAt;
  }

  /** Behind what waits already: order is kept. */
  queue(batch: LineBatch): void {
    this.waiting.push(batch);
  }

  /** The journal refused `batch`: it waits, in pieces, and retrying starts. */
  begin(batch: LineBatch, error: Error): void {
    for (const piece of piecesOf(batch)) this.waiting.push(piece);
    if (this.startedAt) return;
    this.startedAt = new Date();
    this.host.began(error);
    this.timer = setInterval(() => this.retry(), this.retryMs);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private retry(): void {
    if (this.host.closed()) return;
    this.retryingNow = true;
    try {
      while (this.waiting.length > 0) {
        if (!this.host.append(this.waiting[0]!)) return;
        this.waiting.shift();
      }
    } finally {
      this.retryingNow = false;
    }
    clearInterval(this.timer);
    const ms = Date.now() - this.startedAt!.getTime();
    this.startedAt = undefined;
    this.host.ended(ms);
  }
}
