import fs from 'node:fs';
import { listDir } from '../bus/fs-safety.js';
import path from 'node:path';

/**
 * The intake: a write-ahead log of raw pipe reads, in segment files
 * `journal/intake-<seq>.wal`. Whoever reads the FIFOs (the keeper, or a
 * router running alone) writes each read here before anyone parses it; the
 * router consumes the records in order. A record:
 *
 *   length u32 · ts f64 · name length u16 · pipe name · data · length u32 · "BMIR"
 *
 * The footer is the last thing a write puts down, so a write cut short (a
 * killed writer) leaves a record whose footer is missing: it is torn, and
 * the end of the intake is before it. Space after the end is zeros (reserved
 * ahead, so that a read already taken from a pipe always has room).
 */

/** Where a record starts: segment number and byte offset in it. */
export interface IntakePosition {
  seq: number;
  offset: number;
}

export interface IntakeRecord {
  at: IntakePosition;
  /** Where the next record starts. */
  next: IntakePosition;
  /** Pipe file name relative to the root (`bus.pipe`, `agents/a-to-b.pipe`). */
  pipe: string;
  /** When it was read (ms): its lines are stamped with this time, again on a replay. */
  ts: number;
  data: Buffer;
}

export const SEGMENT_MAGIC = 'BMADINT2';
export const HEADER_BYTES = 16; // magic (8) + generation (4) + reserved (4)
export const RECORD_HEAD = 14; // length (4) + ts (8) + name length (2)
export const RECORD_FOOT = 8; // length (4) + magic (4)
const FOOT_MAGIC = 0x52494d42; // "BMIR" little-endian

const SEGMENT_NAME = /^intake-(\d{10})\.wal$/;

export function segmentFile(dir: string, seq: number): string {
  return path.join(dir, `intake-${String(seq).padStart(10, '0')}.wal`);
}

/** Intake segment numbers in `dir`, oldest first. */
export function listIntakeSegments(dir: string): number[] {
  const names = listDir(dir);
  return names.flatMap((n) => {
    const m = SEGMENT_NAME.exec(n);
    return m ? [Number(m[1])] : [];
  }).sort((a, b) => a - b);
}

export function encodeRecord(pipe: string, ts: number, data: Buffer): Buffer {
  const nameLength = Buffer.byteLength(pipe);
  const length = RECORD_HEAD + nameLength + data.length + RECORD_FOOT;
  const record = Buffer.allocUnsafe(length);
  record.writeUInt32LE(length, 0);
  record.writeDoubleLE(ts, 4);
  record.writeUInt16LE(nameLength, 12);
  record.write(pipe, RECORD_HEAD, 'utf8');
  data.copy(record, RECORD_HEAD + nameLength);
  record.writeUInt32LE(length, length - RECORD_FOOT);
  record.writeUInt32LE(FOOT_MAGIC, length - 4);
  return record;
}

/** Decodes one whole record (`bytes` spans exactly its length field), or undefined when it is torn. */
export function decodeRecord(bytes: Buffer, seq: number, offset: number): IntakeRecord | undefined {
  const length = bytes.length;
  if (length < RECORD_HEAD + RECORD_FOOT || bytes.readUInt32LE(0) !== length) return undefined;
  const nameLength = bytes.readUInt16LE(12);
  if (length < RECORD_HEAD + nameLength + RECORD_FOOT) return undefined;
  if (bytes.readUInt32LE(length - RECORD_FOOT) !== length || bytes.readUInt32LE(length - 4) !== FOOT_MAGIC) return undefined;
  return {
    at: { seq, offset },
    next: { seq, offset: offset + length },
    pipe: bytes.toString('utf8', RECORD_HEAD, RECORD_HEAD + nameLength),
    ts: bytes.readDoubleLE(4),
    data: bytes.subarray(RECORD_HEAD + nameLength, length - RECORD_FOOT),
  };
}

/**
 * Reads the record at `offset` of an open segment, or undefined at the end
 * (zeros, a torn record, or nothing more in a file of `size` bytes).
 */
export function readRecordAt(fd: number, seq: number, offset: number, size: number): IntakeRecord | undefined {
  if (offset + RECORD_HEAD + RECORD_FOOT > size) return undefined;
  const head = Buffer.allocUnsafe(4);
  fs.readSync(fd, head, 0, 4, offset);
  const length = head.readUInt32LE(0);
  if (length < RECORD_HEAD + RECORD_FOOT || offset + length > size) return undefined;
  const bytes = Buffer.allocUnsafe(length);
  fs.readSync(fd, bytes, 0, length, offset);
  return decodeRecord(bytes, seq, offset);
}

/** The segment's generation (a random number: part of the ids of the lines read into it), or undefined if it has no valid header. */
export function readGeneration(fd: number): number | undefined {
  const header = Buffer.alloc(HEADER_BYTES);
  const got = fs.readSync(fd, header, 0, HEADER_BYTES, 0);
  if (got < HEADER_BYTES || header.toString('latin1', 0, 8) !== SEGMENT_MAGIC) return undefined;
  return header.readUInt32LE(8);
}

export function comparePositions(a: IntakePosition, b: IntakePosition): number {
  return a.seq - b.seq || a.offset - b.offset;
}
