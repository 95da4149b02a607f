import { decodeJournalLine, type Envelope } from '../bus/envelope.js';
import type { Layout } from '../bus/layout.js';
import { getAgent, readRegistry } from '../bus/registry.js';
import { readReadCursor, writeReadCursor } from '../journal/cursors.js';
import { followJournal } from '../journal/follow.js';
import { readJournal } from '../journal/reader.js';
import { journalEnd, journalStart } from '../journal/segments.js';
import { AddressBook } from '../bus/address-book.js';

/** A message as a reader sees it, with its place in the journal. */
export interface ReceivedMessage {
  envelope: Envelope;
  /** Journal offset of the line after this message: where reading goes on. */
  next: number;
}

export interface ReadOptions {
  /** Every message the journal still holds for the agent, ignoring (and not moving) its read position. */
  all?: boolean;
  /** Keep waiting for new messages. */
  follow?: boolean;
  signal?: AbortSignal;
}

/**
 * An agent's messages from the journal, from its own read position on (kept
 * in state/read/<agent>.json, separate from the router's delivery cursors, so
 * reading never races the inbox FIFO and works with or without a router).
 * The position moves past a message once the caller has taken it.
 *
 * @example
 * for await (const { envelope } of readMessages(layout, 'dev-1', { follow: true })) console.log(envelope.body);
 */
export async function* readMessages(layout: Layout, agent: string, options: ReadOptions = {}): AsyncGenerator<ReceivedMessage> {
  const record = getAgent(layout, agent);
  const book = new AddressBook(readRegistry(layout));
  const dir = layout.journalDir;
  const start = options.all ? journalStart(dir) : (readReadCursor(layout, agent) ?? record.since ?? 0);
  const isMine = (envelope: Envelope): boolean => {
    const recipients = book.recipients(envelope);
    return recipients.agents.includes(agent) || (envelope.to === agent && recipients.unknown === agent);
  };
  // The position is saved now and then and when reading stops: a crash re-reads a little (at-least-once).
  let position = start;
  let saved = position;
  let savedAt = Date.now();
  const save = async (force = false): Promise<void> => {
    if (options.all || position === saved) return;
    if (!force && Date.now() - savedAt < 200) return;
    await writeReadCursor(layout, agent, position);
    saved = position;
    savedAt = Date.now();
  };
  try {
    if (!options.follow) {
      const end = journalEnd(dir);
      while (position < end) {
        const { lines, next } = readJournal(dir, position, 1024 * 1024, end);
        for (const line of lines) {
          const envelope = decodeJournalLine(line.line);
          if (isMine(envelope)) yield { envelope, next: line.end };
          position = line.end;
        }
        if (next === position && lines.length === 0) break;
        position = next;
      }
      return;
    }
    for await (const line of followJournal(dir, position, options.signal ? { signal: options.signal } : {})) {
      const envelope = decodeJournalLine(line.line);
      if (isMine(envelope)) yield { envelope, next: line.end };
      position = line.end;
      await save();
    }
  } finally {
    await save(true);
  }
}
