import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import { errnoCode } from '../bus/errors.js';

/** One read from a pipe, as the intake log keeps it. */
export interface IntakeRecord {
  /** Where the record starts in the intake file. */
  offset: number;
  /** Pipe file name relative to the root (`bus.pipe`, `agents/a-to-b.pipe`). */
  pipe: string;
  /** When it was read (ms): replay stamps its lines with this time again. */
  ts: number;
  data: Buffer;
}

/** Where replay starts, and the journal offset from which lines of later records may already be journaled. */
export interface IntakeMark {
  position: number;
  journalEnd: number;
}

const MAGIC = 'BMADINTK';
const HEADER_BYTES = 16; // magic (8) + generation (4) + reserved (4)
const RECORD_HEAD = 14; // length (4) + ts (8) + name length (2)
const MARK_BYTES = 48;

/**
 * The router's write-ahead log of raw pipe reads. Each read is written here
 * (one `write`, into the page cache, which survives the process being
 * killed) before it is parsed, so a router killed while parsing loses
 * nothing: its successor replays the records after the mark. The mark
 * (`intake.mark`) says where replay starts: the oldest record holding the
 * start of a line not yet complete, else the end.
 */
export class Intake {
  private fd: number;
  private markFd: number;
  private size: number;
  private _generation: number;

  constructor(readonly file: string, readonly markFile: string) {
    this.fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    this.markFd = fs.openSync(markFile, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    this.size = fs.fstatSync(this.fd).size;
    const header = Buffer.alloc(HEADER_BYTES);
    if (this.size >= HEADER_BYTES && (fs.readSync(this.fd, header, 0, HEADER_BYTES, 0), header.toString('latin1', 0, 8) === MAGIC)) {
      this._generation = header.readUInt32LE(8);
    } else {
      this._generation = this.reset(0);
    }
  }

  /** A random number per intake file: part of the ids of the lines read into it. */
  get generation(): number {
    return this._generation;
  }

  get end(): number {
    return this.size;
  }

  /** Writes one read; returns the record's offset. */
  append(pipe: string, ts: number, data: Buffer): number {
    const name = Buffer.from(pipe, 'utf8');
    const head = Buffer.allocUnsafe(RECORD_HEAD);
    head.writeUInt32LE(RECORD_HEAD + name.length + data.length, 0);
    head.writeDoubleLE(ts, 4);
    head.writeUInt16LE(name.length, 12);
    const offset = this.size;
    const record = Buffer.concat([head, name, data]);
    let written = 0;
    while (written < record.length) written += fs.writeSync(this.fd, record, written, record.length - written, offset + written);
    this.size += record.length;
    return offset;
  }

  readMark(): IntakeMark {
    const buffer = Buffer.alloc(MARK_BYTES);
    const got = fs.readSync(this.markFd, buffer, 0, MARK_BYTES, 0);
    const [position, journalEnd] = buffer.toString('latin1', 0, got).trim().split(/\s+/).map(Number);
    if (!Number.isFinite(position) || !Number.isFinite(journalEnd)) return { position: HEADER_BYTES, journalEnd: 0 };
    return { position: Math.max(HEADER_BYTES, position!), journalEnd: journalEnd! };
  }

  /** One small fixed-size write in place: the mark is always whole. */
  writeMark(mark: IntakeMark): void {
    const text = `${mark.position} ${mark.journalEnd}`.padEnd(MARK_BYTES - 1, ' ') + '\n';
    fs.writeSync(this.markFd, text, 0, 'latin1');
  }

  /** Records from `from` on; stops at a torn last record. */
  *records(from: number): Generator<IntakeRecord> {
    let position = Math.max(from, HEADER_BYTES);
    const head = Buffer.allocUnsafe(RECORD_HEAD);
    while (position + RECORD_HEAD <= this.size) {
      fs.readSync(this.fd, head, 0, RECORD_HEAD, position);
      const length = head.readUInt32LE(0);
      const nameLength = head.readUInt16LE(12);
      if (length < RECORD_HEAD + nameLength || position + length > this.size) return;
      const body = Buffer.allocUnsafe(length - RECORD_HEAD);
      fs.readSync(this.fd, body, 0, body.length, position + RECORD_HEAD);
      yield { offset: position, pipe: body.toString('utf8', 0, nameLength), ts: head.readDoubleLE(4), data: body.subarray(nameLength) };
      position += length;
    }
  }

  /**
   * Starts a new, empty intake (a new generation), carrying over the given
   * reads (lines not yet complete); returns their new offsets in order.
   */
  rotate(carry: Array<Omit<IntakeRecord, 'offset'>>, journalEnd: number): number[] {
    this._generation = this.reset(journalEnd);
    const offsets = carry.map((r) => this.append(r.pipe, r.ts, r.data));
    this.writeMark({ position: offsets[0] ?? this.size, journalEnd });
    return offsets;
  }

  close(): void {
    for (const fd of [this.fd, this.markFd]) {
      try {
        fs.closeSync(fd);
      } catch (error) {
        if (errnoCode(error) !== 'EBADF') throw error;
      }
    }
  }

  private reset(journalEnd: number): number {
    const generation = randomInt(2 ** 31);
    const header = Buffer.alloc(HEADER_BYTES);
    header.write(MAGIC, 0, 'latin1');
    header.writeUInt32LE(generation, 8);
    fs.ftruncateSync(this.fd, 0);
    fs.writeSync(this.fd, header, 0, HEADER_BYTES, 0);
    this.size = HEADER_BYTES;
    this.writeMark({ position: HEADER_BYTES, journalEnd });
    return generation;
  }
}
