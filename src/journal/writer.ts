import fs from 'node:fs';
import path from 'node:path';
import { BusError } from '../bus/errors.js';
import { listSegments, segmentFileName } from './segments.js';

/** When the journal calls fsync: after each group of messages (default), after each message, or never. */
export type Durability = 'batch' | 'message' | 'never';
export const DURABILITY_MODES: readonly Durability[] = ['batch', 'message', 'never'];

export interface JournalWriterOptions {
  /** A new segment starts once the current one is this big (default 64 MiB). */
  segmentBytes?: number;
  /** Called when opening found and cut off a torn last line (a crash mid-write). */
  onRecovered?: (info: { file: string; droppedBytes: number }) => void;
}

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

/**
 * The one writer of a journal (the router, or `send` while no router runs,
 * both under the root's lock). `append` writes synchronously into the page
 * cache, which survives the process being killed; `sync` makes it survive the
 * machine going down. Callers group many appends under one sync: group commit.
 */
export class JournalWriter {
  readonly dir: string;
  private readonly segmentBytes: number;
  private fd = -1;
  private segmentStart = 0;
  private segmentSize = 0;
  private syncedEnd = 0;
  private syncing: Promise<void> | undefined;

  constructor(dir: string, options: JournalWriterOptions = {}) {
    this.dir = dir;
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    const last = listSegments(dir).at(-1);
    if (last) {
      this.segmentStart = last.start;
      this.fd = fs.openSync(last.file, fs.constants.O_RDWR | fs.constants.O_APPEND | fs.constants.O_NOFOLLOW);
      this.segmentSize = this.recoverTail(last.file, last.size, options.onRecovered);
    } else {
      this.openSegment(0);
    }
    this.syncedEnd = this.end;
  }

  /** Offset after the last byte written. */
  get end(): number {
    return this.segmentStart + this.segmentSize;
  }

  /** Offset up to which the journal is on disk (fsync'd). */
  get durableEnd(): number {
    return this.syncedEnd;
  }

  /**
   * Appends complete lines (each ending in a newline) and returns the offset
   * where they start. On a failed write (a full disk) the segment is cut
   * back to where it was, so no torn line stays, and the error is thrown.
   */
  append(text: string | Buffer): number {
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    if (this.segmentSize > 0 && this.segmentSize + bytes.length > this.segmentBytes) this.roll();
    const start = this.end;
    let written = 0;
    try {
      while (written < bytes.length) written += fs.writeSync(this.fd, bytes, written);
    } catch (error) {
      if (written > 0) fs.ftruncateSync(this.fd, this.segmentSize);
      throw new BusError(`Journal write failed: ${(error as Error).message}`, { cause: error });
    }
    this.segmentSize += bytes.length;
    return start;
  }

  /** Makes everything appended so far durable, including what is appended meanwhile. */
  async sync(): Promise<void> {
    while (this.syncedEnd < this.end) await this.syncOnce();
  }

  /**
   * One fdatasync covering what was appended before it started (after any
   * running one: concurrent calls share one fsync at a time). Unlike `sync`, it
   * does not chase appends made meanwhile, so a caller that keeps appending
   * learns promptly what became durable.
   */
  async syncOnce(): Promise<void> {
    while (this.syncing) await this.syncing;
    if (this.syncedEnd >= this.end) return;
    const target = this.end;
    const fd = this.fd;
    this.syncing = new Promise<void>((resolve, reject) => {
      fs.fdatasync(fd, (error) => (error ? reject(error) : resolve()));
    }).finally(() => {
      this.syncing = undefined;
    });
    await this.syncing;
    this.syncedEnd = Math.max(this.syncedEnd, target);
  }

  syncNow(): void {
    if (this.syncedEnd >= this.end) return;
    fs.fdatasyncSync(this.fd);
    this.syncedEnd = this.end;
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      this.syncNow();
    } finally {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }

  private roll(): void {
    // Everything in the old segment must be durable before the new one starts.
    fs.fdatasyncSync(this.fd);
    this.syncedEnd = this.end;
    fs.closeSync(this.fd);
    this.openSegment(this.end);
  }

  private openSegment(start: number): void {
    const file = path.join(this.dir, segmentFileName(start));
    this.fd = fs.openSync(
      file,
      fs.constants.O_RDWR | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW,
      0o600,
    );
    this.segmentStart = start;
    this.segmentSize = fs.fstatSync(this.fd).size;
    // The new name must be on disk, or a crash could lose the whole segment.
    const dirFd = fs.openSync(this.dir, 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  }

  /** A crash can leave a last line without its newline: cut it off (it was never acknowledged). */
  private recoverTail(file: string, size: number, onRecovered: JournalWriterOptions['onRecovered']): number {
    if (size === 0) return 0;
    const chunk = Buffer.alloc(Math.min(size, 1024 * 1024 + 1));
    let pos = size;
    while (pos > 0) {
      const len = Math.min(chunk.length, pos);
      fs.readSync(this.fd, chunk, 0, len, pos - len);
      const nl = chunk.subarray(0, len).lastIndexOf(0x0a);
      if (nl >= 0) {
        const good = pos - len + nl + 1;
        if (good < size) {
          fs.ftruncateSync(this.fd, good);
          onRecovered?.({ file, droppedBytes: size - good });
        }
        return good;
      }
      pos -= len;
    }
    fs.ftruncateSync(this.fd, 0);
    onRecovered?.({ file, droppedBytes: size });
    return 0;
  }
}
