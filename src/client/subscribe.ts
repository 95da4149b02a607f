import { decodeJournalLine, type Envelope } from '../bus/envelope.js';
import type { Layout } from '../bus/layout.js';
import { followJournal } from '../journal/follow.js';
import { journalEnd } from '../journal/segments.js';

export interface SubscribeOptions {
  /** Where to start: `end` (default: only new traffic), `start`, or a journal offset. */
  from?: 'start' | 'end' | number;
  /** Only messages whose envelope matches. */
  filter?: (envelope: Envelope) => boolean;
  signal?: AbortSignal;
}

/**
 * All traffic on the bus, live, as an async iterable of envelopes; `break`
 * (or the signal) stops it. A view of the journal: it never takes a message
 * away from anyone.
 *
 * @example
 * for await (const message of subscribe(layout, { filter: (m) => m.type === 'event' })) console.log(message);
 */
export async function* subscribe(layout: Layout, options: SubscribeOptions = {}): AsyncGenerator<Envelope & { offset: number }> {
  const from = options.from === 'start' ? 0 : options.from === 'end' || options.from === undefined ? journalEnd(layout.journalDir) : options.from;
  for await (const line of followJournal(layout.journalDir, from, options.signal ? { signal: options.signal } : {})) {
    const envelope = decodeJournalLine(line.line);
    if (!options.filter || options.filter(envelope)) yield { ...envelope, offset: line.offset };
  }
}
