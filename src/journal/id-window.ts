import { journalLines } from './reader.js';
import { parseJsonOrUndefined } from '../bus/json-scan.js';

/** How far back a writer's id is remembered: the last 100,000 messages, within the last 16 MiB of journal. */
export const ID_WINDOW_MESSAGES = 100_000;
export const ID_WINDOW_BYTES = 16 * 1024 * 1024;

/**
 * The ids of the most recent messages in the journal: a writer's own `id`
 * is an idempotency key (as `Nats-Msg-Id` is to JetStream), so a second
 * message with an id still in this window is not journaled again. Bounded
 * in count and in journal bytes, so memory stays small however busy the bus.
 */
export class IdWindow {
  private readonly ids = new Set<string>();
  /** The ids in the order they came, with the running byte total at each (a queue: `head` is the oldest). */
  private order: string[] = [];
  private totals: number[] = [];
  private head = 0;
  private total = 0;

  constructor(private readonly maxIds = ID_WINDOW_MESSAGES, private readonly maxBytes = ID_WINDOW_BYTES) {}

  /** The window over the journal's last `maxBytes` before `end`. */
  static load(journalDir: string, end: number, maxIds = ID_WINDOW_MESSAGES, maxBytes = ID_WINDOW_BYTES): IdWindow {
    const window = new IdWindow(maxIds, maxBytes);
    const from = Math.max(0, end - maxBytes);
    let first = from > 0; // starting mid-journal: the first piece may be the tail of a line
    for (const l of journalLines(journalDir, from, end)) {
      if (first) {
        first = false;
        continue;
      }
      const id = idOfLine(l.line);
      if (id !== undefined) window.add(id, l.end - l.offset);
    }
    return window;
  }

  get size(): number {
    return this.ids.size;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string, bytes: number): void {
    this.total += bytes;
    this.ids.add(id);
    this.order.push(id);
    this.totals.push(this.total);
    while (this.ids.size > this.maxIds || this.total - this.totals[this.head]! >= this.maxBytes) {
      this.ids.delete(this.order[this.head]!);
      this.head++;
    }
    // Drop the evicted front now and then (not on every add: that would copy the arrays each time).
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.totals = this.totals.slice(this.head);
      this.head = 0;
    }
  }
}

/** A journal line's id: read off the front of canonical lines, parsed otherwise. */
function idOfLine(line: string): string | undefined {
  if (line.startsWith('{"id":"')) {
    const end = line.indexOf('"', 7);
    if (end > 7 && !line.slice(7, end).includes('\\')) return line.slice(7, end);
  }
  const id = parseJsonOrUndefined<{ id?: unknown }>(line)?.id;
  return typeof id === 'string' ? id : undefined;
}
