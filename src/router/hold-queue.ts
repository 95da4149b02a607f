import type { AddressBook } from '../bus/address-book.js';
import type { DeliveryItem } from '../bus/delivery.js';
import type { Envelope } from '../bus/envelope.js';
import { deadLetterFor, recentDeadLetterIds, type DeadLetter } from '../journal/dead-letters.js';
import { journalLines } from '../journal/reader.js';

/** A message for an agent nobody registered (yet): held, then dead-lettered. */
interface Held {
  name: string;
  offset: number;
  line: string;
  id: string;
  expires: number;
}

export const MAX_HELD = 100_000;

/**
 * Journaled messages for recipients not in the registry, held for `holdMs`
 * in case the agent registers (its delivery then starts at the first of
 * them), else dead-lettered as `unknown_recipient`. Only offsets and lines
 * are kept: delivery reads them from the journal again.
 */
export class HoldQueue {
  private held: Held[] = [];

  constructor(
    private readonly options: { holdMs: number; deadLetterFile: string; max?: number },
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.held.length;
  }

  /** Holds a message for `name`; returns its dead letter instead when the queue is full. */
  hold(name: string, item: Pick<DeliveryItem, 'offset' | 'line' | 'envelope'>): DeadLetter | undefined {
    if (this.held.length >= (this.options.max ?? MAX_HELD)) {
      return deadLetterFor('unknown_recipient', `No agent ${name} registered (hold queue full)`, item.line, { id: item.envelope.id });
    }
    this.held.push({ name, offset: item.offset, line: item.line, id: item.envelope.id, expires: this.now() + this.options.holdMs });
    return undefined;
  }

  /**
   * Messages `send` journaled while no router ran (and those a crashed
   * predecessor held) were never checked for unknown recipients: hold them now,
   * from the time they were sent, so they are dead-lettered if nobody registers.
   */
  holdUnknownSince(journalDir: string, book: AddressBook, from: number | undefined, end: number): void {
    for (const l of journalLines(journalDir, Math.min(from ?? end, end), end)) {
      const envelope = JSON.parse(l.line) as Envelope;
      const unknown = book.recipients(envelope).unknown;
      if (unknown === undefined) continue;
      const sent = Date.parse(envelope.ts);
      this.held.push({ name: unknown, offset: l.offset, line: l.line, id: envelope.id, expires: (Number.isNaN(sent) ? this.now() : sent) + this.options.holdMs });
    }
    this.held.sort((a, b) => a.expires - b.expires);
  }

  /** Takes out an agent's held messages (it registered); returns the offset of the first, where its delivery starts. */
  release(name: string): number | undefined {
    const first = this.held.find((h) => h.name === name);
    if (first) this.held = this.held.filter((h) => h.name !== name);
    return first?.offset;
  }

  /** Takes out the messages whose time is up; returns their dead letters (those a predecessor wrote already left out). */
  expire(): DeadLetter[] {
    const now = this.now();
    let n = 0;
    while (n < this.held.length && this.held[n]!.expires <= now) n++;
    if (n === 0) return [];
    const known = recentDeadLetterIds(this.options.deadLetterFile);
    const letters: DeadLetter[] = [];
    for (const h of this.held.splice(0, n)) {
      if (known.has(h.id)) continue;
      const what = h.name.startsWith('role:') ? `No live agent of role ${h.name.slice(5)}` : `No agent \`${h.name}\` registered`;
      letters.push(deadLetterFor('unknown_recipient', `${what} within ${Math.round(this.options.holdMs / 1000)}s`, h.line, { id: h.id }));
    }
    return letters;
  }
}
