import fs from 'node:fs';
import { errnoCode } from '../bus/errors.js';
import {
  HEADER_BYTES, RECORD_FOOT, RECORD_HEAD, decodeRecord, listIntakeSegments, readGeneration, readRecordAt, segmentFile,
  type IntakePosition, type IntakeRecord,
} from './intake-format.js';

/** A record with the generation of its segment (what the ids of its lines are made from). */
export type ReadRecord = IntakeRecord & { generation: number };

const CHUNK_BYTES = 1024 * 1024;

/**
 * Reads the intake's records in order from a position, across segments, up
 * to the last whole record there is now (a record still being written has
 * no footer yet and is not seen). It reads ahead in large chunks: one
 * `read` for many small records.
 */
export class IntakeReader {
  private fd = -1;
  private seq: number;
  private offset: number;
  private generation = 0;

  constructor(readonly dir: string, from: IntakePosition) {
    this.seq = from.seq;
    this.offset = Math.max(from.offset, HEADER_BYTES);
  }

  /** Where the next record will be read. */
  get position(): IntakePosition {
    return { seq: this.seq, offset: this.offset };
  }

  /**
   * Every whole record from the position on; the position moves past each as
   * it is yielded. `until`, when the caller knows where the writer's end is
   * (the writer is in this process, or the keeper said), spares the look at
   * the file's size and the directory.
   */
  *read(until?: IntakePosition): Generator<ReadRecord> {
    for (;;) {
      if (!this.openCurrent()) return;
      if (until && this.seq === until.seq) {
        yield* this.readSegment(until.offset);
        return;
      }
      yield* this.readSegment(fs.fstatSync(this.fd).size);
      if (until && this.seq > until.seq) return;
      const next = until ? this.seq + 1 : listIntakeSegments(this.dir).find((s) => s > this.seq);
      if (next === undefined) return;
      // The writer moves on only after its last write here: one more pass finds that write.
      if (!until) yield* this.readSegment(fs.fstatSync(this.fd).size);
      this.close();
      this.seq = next;
      this.offset = HEADER_BYTES;
    }
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  private *readSegment(size: number): Generator<ReadRecord> {
    while (this.offset + RECORD_HEAD + RECORD_FOOT <= size) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, size - this.offset));
      const got = fs.readSync(this.fd, chunk, 0, chunk.length, this.offset);
      let at = 0;
      while (at + 4 <= got) {
        const length = chunk.readUInt32LE(at);
        if (length === 0 || at + length > got) break; // the zeros after the end, or a record past this chunk
        const record = decodeRecord(chunk.subarray(at, at + length), this.seq, this.offset);
        if (!record) return; // torn: the end, for now
        at += length;
        this.offset = record.next.offset;
        yield { ...record, generation: this.generation };
      }
      if (at > 0) continue;
      const record = readRecordAt(this.fd, this.seq, this.offset, size); // bigger than a chunk, or the end
      if (!record) return;
      this.offset = record.next.offset;
      yield { ...record, generation: this.generation };
    }
  }

  private openCurrent(): boolean {
    if (this.fd >= 0) return true;
    let fd: number;
    try {
      fd = fs.openSync(segmentFile(this.dir, this.seq), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
      // Gone (consumed and removed) or not made yet: go on with the oldest segment after it.
      const next = listIntakeSegments(this.dir).find((s) => s > this.seq);
      if (next === undefined) return false;
      this.seq = next;
      this.offset = HEADER_BYTES;
      return this.openCurrent();
    }
    const generation = readGeneration(fd);
    if (generation === undefined) {
      fs.closeSync(fd);
      return false; // being created this moment: come back later
    }
    this.fd = fd;
    this.generation = generation;
    return true;
  }
}
