import type { Envelope } from '../bus/envelope.js';
import { recentDeadLetterIds } from '../journal/dead-letters.js';
import { journalLines } from '../journal/reader.js';
import type { Replay } from './intake-consumer.js';

/**
 * What a replay of the intake after a crash must skip: the ids of the lines
 * journaled since the mark's `journalEnd` (up to `end`), and those of the
 * dead-letter log. Each set is read when it is first asked for: with nothing
 * to replay (the usual start) neither the journal nor the log is read.
 */
export function alreadyRecorded(options: { journalDir: string; deadLetterFile: string; from: number; end: number }): Replay {
  const { journalDir, deadLetterFile, from, end } = options;
  let ids: Set<string> | undefined;
  let deadIds: Set<string> | undefined;
  return {
    get ids() {
      if (!ids) {
        ids = new Set();
        for (const l of journalLines(journalDir, Math.min(from, end), end)) ids.add((JSON.parse(l.line) as Envelope).id);
      }
      return ids;
    },
    get deadIds() {
      return (deadIds ??= recentDeadLetterIds(deadLetterFile));
    },
  };
}
