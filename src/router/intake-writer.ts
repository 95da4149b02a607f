import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import { BusError } from '../bus/errors.js';
import {
  HEADER_BYTES, SEGMENT_MAGIC, encodeRecord, listIntakeSegments, readGeneration, readRecordAt, segmentFile, type IntakePosition,
} from './intake-format.js';

export interface IntakeWriterOptions {
  /**
   * A new segment starts past this size (default 512 KiB). Small, so that on a
   * nearly full disk what the router consumed is freed soon (a consumed
   * segment is removed whole) and the journal gets the room back.
   */
  segmentBytes?: number;
  /** Zeros written ahead of the end (default 256 KiB, topped up at half), so a read taken from a pipe has room even on a full disk. */
  reserveBytes?: number;
}

const DEFAULT_SEGMENT_BYTES = 512 * 1024;
const DEFAULT_RESERVE_BYTES = 256 * 1024;
/** Below this much reserved room the writer says it is full: stop taking reads from pipes (each read is at most 64 KiB). */
const FULL_BELOW_BYTES = 80 * 1024;
/** Offsets past this would overflow the 40-bit sequence in a derived id. */
const MAX_SEGMENT_OFFSET = 2 ** 25 - 64 * 1024;
const ZEROS = Buffer.alloc(256 * 1024);

/**
 * The one writer of the intake (the keeper, or a router running alone; it
 * holds the root's lock). Each `append` is one write into space reserved
 * ahead of time, so a full disk makes the writer say `full` (stop reading
 * the pipes: the bytes wait there) before a read already taken could fail
 * to be written.
 */
export class IntakeWriter {
  readonly dir: string;
  private readonly segmentBytes: number;
  private readonly reserveBytes: number;
  private fd = -1;
  private seq = 0;
  private size = 0;
  private reserved = 0;

  constructor(dir: string, options: IntakeWriterOptions = {}) {
    this.dir = dir;
    this.segmentBytes = Math.min(options.segmentBytes ?? DEFAULT_SEGMENT_BYTES, MAX_SEGMENT_OFFSET);
    // Topped up at half: `full` (below FULL_BELOW_BYTES) must mean the top-up failed, not that it was not due yet.
    this.reserveBytes = Math.max(options.reserveBytes ?? DEFAULT_RESERVE_BYTES, 2 * FULL_BELOW_BYTES + 64 * 1024);
    const last = listIntakeSegments(dir).at(-1);
    if (last === undefined) this.openSegment(1);
    else this.reopen(last);
    this.reserve();
  }

  /** Where the next record goes. */
  get end(): IntakePosition {
    return { seq: this.seq, offset: this.size };
  }

  /** True when the reserved room is nearly used up and could not be extended (a full disk). */
  get full(): boolean {
    return this.reserved - this.size < FULL_BELOW_BYTES;
  }

  /** Writes one read as one record; returns where it starts. Throws BusError when even that fails. */
  append(pipe: string, ts: number, data: Buffer): IntakePosition {
    const record = encodeRecord(pipe, ts, data);
    if (this.size > HEADER_BYTES && this.size + record.length > this.segmentBytes) this.roll();
    if (this.size + record.length > MAX_SEGMENT_OFFSET) throw new BusError(`Intake segment ${this.seq} is full and no new one could be made`);
    const at = { seq: this.seq, offset: this.size };
    let written = 0;
    try {
      while (written < record.length) written += fs.writeSync(this.fd, record, written, record.length - written, this.size + written);
    } catch (error) {
      // What did get written is a torn record (no footer): readers stop before it, the next append overwrites it.
      throw new BusError(`Intake write failed: ${(error as Error).message}`, { cause: error });
    }
    this.size += record.length;
    this.reserved = Math.max(this.reserved, this.size);
    if (this.reserved - this.size < this.reserveBytes / 2) this.reserve();
    return at;
  }

  /** Extends the zeros ahead of the end; false when the disk had no room for all of it. */
  reserve(): boolean {
    const target = this.size + this.reserveBytes;
    try {
      while (this.reserved < target) {
        const n = Math.min(ZEROS.length, target - this.reserved);
        this.reserved += fs.writeSync(this.fd, ZEROS, 0, n, this.reserved);
      }
      return true;
    } catch {
      return false; // ENOSPC, EDQUOT: `full` tells the caller
    }
  }

  /** Makes what was appended survive a power loss too (`send` with no router: accepted means on disk). */
  sync(): void {
    fs.fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
  }

  private roll(): void {
    const previous = { fd: this.fd, seq: this.seq, size: this.size, reserved: this.reserved };
    try {
      this.openSegment(this.seq + 1);
    } catch {
      // No room for a new segment: go on in this one (segmentBytes is a soft limit).
      Object.assign(this, previous);
      return;
    }
    // The old segment's unused reserve goes back to the disk.
    fs.ftruncateSync(previous.fd, previous.size);
    fs.closeSync(previous.fd);
    this.reserve();
  }

  private openSegment(seq: number): void {
    const file = segmentFile(this.dir, seq);
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
      const header = Buffer.alloc(HEADER_BYTES);
      header.write(SEGMENT_MAGIC, 0, 'latin1');
      header.writeUInt32LE(randomInt(2 ** 31), 8);
      fs.writeSync(fd, header, 0, HEADER_BYTES, 0);
    } catch (error) {
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
      throw error;
    }
    this.fd = fd;
    this.seq = seq;
    this.size = HEADER_BYTES;
    this.reserved = HEADER_BYTES;
  }

  /** Goes on in the last segment after its last whole record; a torn record and old zeros are cut off. */
  private reopen(seq: number): void {
    const fd = fs.openSync(segmentFile(this.dir, seq), fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
    if (readGeneration(fd) === undefined) {
      // Not even a header: a segment whose creation was cut short. Start it over.
      fs.closeSync(fd);
      fs.rmSync(segmentFile(this.dir, seq), { force: true });
      this.openSegment(seq);
      return;
    }
    const fileSize = fs.fstatSync(fd).size;
    let offset = HEADER_BYTES;
    for (;;) {
      const record = readRecordAt(fd, seq, offset, fileSize);
      if (!record) break;
      offset = record.next.offset;
    }
    fs.ftruncateSync(fd, offset);
    this.fd = fd;
    this.seq = seq;
    this.size = offset;
    this.reserved = offset;
  }
}
