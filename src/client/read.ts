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
  const dir = layout.journalDir;
  const start = options.all ? journalStart(dir) : readPosition(layout, agent);
  const isMine = inboxFilter(layout, agent);
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

/**
 * Which journal lines are an agent's messages: the one rule every reader of
 * an agent's messages (`read`, the MCP server's inbox) uses. The registry is
 * read now: a reader that lives long builds it again when the registry changes.
 */
export function inboxFilter(layout: Layout, agent: string): (envelope: Envelope) => boolean {
  getAgent(layout, agent); // an unknown agent is an error here, not an empty inbox
  const book = new AddressBook(readRegistry(layout));
  return (envelope) => {
    const recipients = book.recipients(envelope);
    return recipients.agents.includes(agent) || (envelope.to === agent && recipients.unknown === agent);
  };
}

/** Where an agent's reading goes on: its saved read position, else where it was registered. */
export function readPosition(layout: Layout, agent: string): number {
  return readReadCursor(layout, agent) ?? getAgent(layout, agent).since ?? 0;
}

/** Up to `max` of an agent's messages from `from` on, read without moving anything. */
export interface InboxPeek {
  messages: ReceivedMessage[];
  /**
   * How far the journal was looked at: the offset after the last message
   * when `max` cut the batch short (`more`), else the end of the journal.
   * Nothing between the last message and this offset is the agent's.
   */
  scanned: number;
  more: boolean;
}

export function peekMessages(layout: Layout, agent: string, from: number, max: number, isMine = inboxFilter(layout, agent)): InboxPeek {
  const dir = layout.journalDir;
  const end = journalEnd(dir);
  const messages: ReceivedMessage[] = [];
  let position = from;
  while (position < end) {
    const { lines, next } = readJournal(dir, position, 1024 * 1024, end);
    for (const line of lines) {
      const envelope = decodeJournalLine(line.line);
      if (isMine(envelope)) {
        if (messages.length === max) return { messages, scanned: position, more: true };
        messages.push({ envelope, next: line.end });
      }
      position = line.end;
    }
    if (next === position && lines.length === 0) break;
    position = next;
  }
  return { messages, scanned: position, more: false };
}
