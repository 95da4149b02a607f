import type { Layout } from '../bus/layout.js';
import { writeCursors } from '../journal/cursors.js';

// Cursors are written this soon after a hand-over (the bound on re-delivery after a crash).
export const CURSOR_PERSIST_DELAY_MS = 10;

export interface CursorPersisterHost {
  /** Every consumer's cursor now. */
  snapshot(): Record<string, number>;
  /** False once the root is not ours any more: nothing is written into that path. */
  mayWrite(): boolean;
  log(line: string): void;
}

/**
 * Writes the consumers' cursors to state/cursors.json: soon after every
 * hand-over (coalesced, so a crash re-delivers at most what went in that
 * moment), now and then in case a change was missed, and a last time at close.
 * One write at a time, and no lock: only the router writes the file.
 */
export class CursorPersister {
  private dirty = false;
  private writing: Promise<void> | undefined;
  private soon: NodeJS.Timeout | undefined;
  private interval: NodeJS.Timeout | undefined;
  private closed = false;
  private lastText = '';

  constructor(private readonly layout: Layout, private readonly host: CursorPersisterHost) {}

  start(intervalMs: number): void {
    this.interval = setInterval(() => void this.persist(), intervalMs);
  }

  /** A consumer came or went: its cursor is written within a few milliseconds too. */
  changed(): void {
    this.dirty = true;
    this.persistSoon();
  }

  /** Messages were handed over: the cursors are written within a few milliseconds. */
  handedOver(): void {
    this.dirty = true;
    this.persistSoon();
  }

  persist(): Promise<void> {
    if (!this.host.mayWrite()) return Promise.resolve();
    if (this.writing) return this.writing;
    const snapshot = this.host.snapshot();
    const text = JSON.stringify(snapshot);
    if (text === this.lastText && !this.dirty) return Promise.resolve();
    this.dirty = false;
    this.writing = writeCursors(this.layout, snapshot)
      .then(() => {
        this.lastText = text;
      })
      .catch((error: unknown) => this.host.log(`cursors: ${(error as Error).message}`))
      .finally(() => {
        this.writing = undefined;
      });
    return this.writing;
  }

  /** Stops the timers; whatever is handed over after this waits for `final`. */
  close(): void {
    this.closed = true;
    clearInterval(this.interval);
    clearTimeout(this.soon);
  }

  /** At close, once everything is handed out: waits for a write under way, then writes the cursors as they end. */
  async final(): Promise<void> {
    await this.writing;
    await writeCursors(this.layout, this.host.snapshot()).catch((error: unknown) => this.host.log(`cursors: ${(error as Error).message}`));
  }

  private persistSoon(): void {
    if (this.soon || this.closed) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.persist().then(() => {
        if (this.dirty) this.persistSoon(); // changed while it was written
      });
    }, CURSOR_PERSIST_DELAY_MS);
  }
}
