import { AddressBook } from '../bus/address-book.js';
import { decodeJournalLine } from '../bus/envelope.js';
import type { Layout } from '../bus/layout.js';
import type { Registry } from '../bus/registry.js';
import { readCursors } from '../journal/cursors.js';
import { readJournal } from '../journal/reader.js';
import { journalEnd } from '../journal/segments.js';

/**
 * Each agent's undelivered messages, counted from the journal and the saved
 * cursors — what `status` shows while no router runs (a running router
 * reports its own live counts).
 */
export function countUndelivered(layout: Layout, registry: Registry): Record<string, number> {
  const book = new AddressBook(registry);
  const cursors = readCursors(layout);
  const end = journalEnd(layout.journalDir);
  const starts = new Map<string, number>();
  for (const name of book.names) {
    for (const key of book.consumersOf(name)) starts.set(key, cursors[key] ?? registry.agents[name]?.since ?? end);
  }
  const counts: Record<string, number> = Object.fromEntries(book.names.map((n) => [n, 0]));
  if (starts.size === 0) return counts;
  const perConsumer = new Map<string, number>();
  let position = Math.min(...starts.values());
  while (position < end) {
    const { lines, next } = readJournal(layout.journalDir, position, 4 * 1024 * 1024, end);
    for (const l of lines) {
      for (const agent of book.recipients(decodeJournalLine(l.line)).agents) {
        for (const key of book.consumersOf(agent)) {
          if (l.offset >= (starts.get(key) ?? end)) perConsumer.set(key, (perConsumer.get(key) ?? 0) + 1);
        }
      }
    }
    if (next === position) break;
    position = next;
  }
  for (const [key, n] of perConsumer) {
    const agent = key.slice(key.indexOf(':') + 1);
    counts[agent] = Math.max(counts[agent] ?? 0, n);
  }
  return counts;
}
