import { decodeJournalLine, type Envelope } from '../bus/envelope.js';
import { readJournal } from './reader.js';
import { listSegments } from './segments.js';

export interface FoundMessage {
  /** Global journal offset of its line. */
  offset: number;
  envelope: Envelope;
  /** The journal line, without its newline. */
  line: string;
}

/**
 * The last `count` messages before `end` that `matches` (all of them with
 * `Infinity`), oldest first, not looking below `lowest` (default: the
 * journal's start). Reads a growing window back from `end` instead of the
 * whole journal: the last 200 of 100,000 messages cost a few hundred KiB.
 * A damaged line is skipped.
 */
export function lastMessages(dir: string, end: number, count: number, matches: (e: Envelope) => boolean = () => true, lowest?: number): FoundMessage[] {
  const floor = lowest ?? listSegments(dir)[0]?.start ?? 0;
  let window = 256 * 1024;
  for (;;) {
    const from = count === Infinity ? floor : Math.max(floor, end - window);
    const found: FoundMessage[] = [];
    let position = from;
    let skipFirst = from > floor;
    while (position < end) {
      const { lines, next } = readJournal(dir, position, 4 * 1024 * 1024, end);
      for (const l of lines) {
        if (skipFirst) {
          skipFirst = false; // may be the tail of a line cut by the window
          continue;
        }
        let envelope: Envelope;
        try {
          envelope = decodeJournalLine(l.line);
        } catch (error) {
          if (!(error instanceof SyntaxError)) throw error;
          continue;
        }
        if (matches(envelope)) found.push({ offset: l.offset, envelope, line: l.line });
      }
      if (next === position) break;
      position = next;
    }
    if (found.length >= count || from === floor) return count === Infinity ? found : found.slice(-count);
    window *= 4;
  }
}
