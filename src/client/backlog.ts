import { AddressBook } from '../bus/address-book.js';
import type { Layout } from '../bus/layout.js';
import type { Registry } from '../bus/registry.js';
import { countBacklog } from '../journal/backlog.js';
import { readCursors } from '../journal/cursors.js';
import { journalEnd } from '../journal/segments.js';

/**
 * Each agent's undelivered messages, counted from the journal and the saved
 * cursors — what `status` shows while no router runs (a running router
 * reports its own live counts). An agent with an inbox and a pane counts the
 * consumer that is further behind.
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
  for (const [key, n] of countBacklog(layout.journalDir, book, starts, end)) {
    const agent = key.slice(key.indexOf(':') + 1);
    counts[agent] = Math.max(counts[agent] ?? 0, n);
  }
  return counts;
}
