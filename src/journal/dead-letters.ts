import fs from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { unlessFsRace } from '../bus/errors.js';
import { parseJsonOrUndefined } from '../bus/json-scan.js';

/** One rejected line, as the dead-letter log keeps it. */
export interface DeadLetter {
  ts: string;
  /** Machine-readable reason: invalid_json, binary, nul_byte, too_long, unknown_recipient... */
  reason: string;
  /** The one-line error a person reads. */
  error: string;
  /** The pipe the line came in on (file name), when it came from a pipe. */
  pipe?: string;
  /** The line as text, or base64 when it was not valid UTF-8 (see `encoding`). */
  line?: string;
  encoding?: 'base64';
  /** Size of the rejected line in bytes (an oversized line keeps only its head). */
  bytes?: number;
  /** Id of the journaled message this record is about (an undeliverable accepted message). */
  id?: string;
  /** For `duplicate_id`: the id the journal holds already. */
  duplicate_of?: string;
}

export function deadLetterFor(reason: string, error: string, raw: Buffer | string | undefined, extra: Partial<DeadLetter> = {}): DeadLetter {
  const record: DeadLetter = { ts: new Date().toISOString(), reason, error, ...extra };
  if (raw !== undefined) {
    const bytes = typeof raw === 'string' ? Buffer.from(raw) : raw;
    record.bytes ??= bytes.length;
    if (isUtf8(bytes) && !bytes.includes(0)) record.line = bytes.toString('utf8');
    else {
      record.line = bytes.toString('base64');
      record.encoding = 'base64';
    }
  }
  return record;
}

/** Appends dead letters to the log (rare: each append goes straight to disk). */
export class DeadLetterLog {
  private fd: number | undefined;
  constructor(readonly file: string) {}

  append(record: DeadLetter): void {
    this.fd ??= fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    fs.writeSync(this.fd, `${JSON.stringify(record)}\n`);
  }

  close(): void {
    if (this.fd !== undefined) {
      fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

/** Ids of the dead letters in the last part of the log (what an intake replay may meet again). */
export function recentDeadLetterIds(file: string, tailBytes = 4 * 1024 * 1024): Set<string> {
  const ids = new Set<string>();
  const fd = unlessFsRace(() => fs.openSync(file, 'r'), undefined, ['ENOENT']);
  if (fd === undefined) return ids;
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - tailBytes);
    const buffer = Buffer.allocUnsafe(size - start);
    fs.readSync(fd, buffer, 0, buffer.length, start);
    for (const line of buffer.toString('utf8').split('\n')) {
      // A cut first line, or a torn last one, has no id.
      const id = parseJsonOrUndefined<DeadLetter>(line)?.id;
      if (id) ids.add(id);
    }
  } finally {
    fs.closeSync(fd);
  }
  return ids;
}
