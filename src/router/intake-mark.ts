import fs from 'node:fs';
import type { IntakePosition } from './intake-format.js';
import { HEADER_BYTES } from './intake-format.js';

/**
 * Where the router's replay of the intake starts after a crash (the oldest
 * record holding the start of a line not yet journaled), and the journal
 * offset from which lines of later records may already be journaled (what
 * the replay checks ids against). Written in place, one small write: always
 * whole. Only the router writes it; the intake's writer reads it to know
 * which segments are consumed.
 */
export interface IntakeMark {
  at: IntakePosition;
  journalEnd: number;
}

const MARK_BYTES = 64;

export function readIntakeMark(file: string): IntakeMark | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
  const [seq, offset, journalEnd] = text.trim().split(/\s+/).map(Number);
  if (![seq, offset, journalEnd].every((n) => Number.isSafeInteger(n) && n! >= 0)) return undefined;
  return { at: { seq: seq!, offset: Math.max(offset!, HEADER_BYTES) }, journalEnd: journalEnd! };
}

export class IntakeMarkFile {
  private fd: number;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    // Room for every later mark, so that writing one never needs a new block (a full disk).
    if (fs.fstatSync(this.fd).size < MARK_BYTES) fs.writeSync(this.fd, ' '.repeat(MARK_BYTES - 1) + '\n', 0, 'latin1');
  }

  write(mark: IntakeMark): void {
    const text = `${mark.at.seq} ${mark.at.offset} ${mark.journalEnd}`.padEnd(MARK_BYTES - 1, ' ') + '\n';
    fs.writeSync(this.fd, text, 0, 'latin1');
  }

  close(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}
