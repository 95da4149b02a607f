import { DeadLetterLog, type DeadLetter } from '../journal/dead-letters.js';

const LOG_LINES_PER_SECOND = 20;

/**
 * Keeps every rejected line in the dead-letter log and says so on the
 * router's log, one line each, but at most 20 a second: a flood of bad input
 * must not flood the log. What was left unsaid is counted in the next second.
 */
export class DeadLetterRecorder {
  private readonly file: DeadLetterLog;
  private second = 0;
  private count = 0;
  private suppressed = 0;

  constructor(file: string, private readonly log: (line: string) => void, private readonly now: () => number = Date.now) {
    this.file = new DeadLetterLog(file);
  }

  record(record: DeadLetter): void {
    try {
      this.file.append(record);
    } catch (error) {
      this.log(`dead-letter log: ${(error as Error).message}`);
    }
    const second = Math.floor(this.now() / 1000);
    if (second !== this.second) {
      if (this.suppressed > 0) this.log(`... and ${this.suppressed} more dead letter(s) in that second (see deadletter.ndjson)`);
      this.second = second;
      this.count = 0;
      this.suppressed = 0;
    }
    if (++this.count <= LOG_LINES_PER_SECOND) {
      this.log(`dead letter (${record.reason})${record.pipe ? ` on ${record.pipe}` : ''}: ${record.error}`);
    } else {
      this.suppressed++;
    }
  }

  close(): void {
    this.file.close();
  }
}
