import type { AddressBook } from '../bus/address-book.js';
import { decodeJournalLine } from '../bus/envelope.js';
import { readJournal } from './reader.js';

/**
 * How many messages each consumer has between its position and `end`: one
 * pass over the journal from the lowest position. The router counts its
 * backlog with it at start; `status` with it while no router runs.
 */
export function countBacklog(journalDir: string, book: AddressBook, starts: ReadonlyMap<string, number>, end: number): Map<string, number> {
  const counts = new Map<string, number>([...starts.keys()].map((key) => [key, 0]));
  if (starts.size === 0) return counts;
  let position = Math.min(...starts.values());
  while (position < end) {
    const { lines, next } = readJournal(journalDir, position, 4 * 1024 * 1024, end);
    for (const l of lines) {
      for (const agent of book.recipients(decodeJournalLine(l.line)).agents) {
        for (const key of book.consumersOf(agent)) {
          const start = starts.get(key);
          if (start !== undefined && l.offset >= start) counts.set(key, counts.get(key)! + 1);
        }
      }
    }
    if (next === position) break;
    position = next;
  }
  return counts;
}
