import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { errnoCode } from '../bus/errors.js';
import { checkEntry } from '../bus/fs-safety.js';
import type { Layout } from '../bus/layout.js';
import { originOf } from './ingest.js';
import type { IntakeWriter } from './intake-writer.js';

export interface IntakePumpOptions {
  /** Called (at most once per turn of the event loop) after reads were written: there is more to consume. */
  onAppend: () => void;
  log: (line: string) => void;
}

interface PipeReader {
  /** The pipe's name relative to the root, as records name it. */
  pipe: string;
  fd: number;
  socket: net.Socket;
}

const READ_BYTES = 64 * 1024;
const RETRY_MS = 1000;

/**
 * Reads every pipe writers write into (the fixed ones and each pair pipe,
 * including those made later) and writes each read, as it comes, into the
 * intake. Nothing else happens here — no parsing, no message handling — so
 * no input can crash the process doing it, and a router killed at any
 * moment loses no byte a writer wrote: the reads are on file before the
 * router sees them.
 *
 * Each pipe is opened `O_RDWR | O_NONBLOCK` (this process holds a writer end
 * too: it never sees EOF, writers never block on open) and read by libuv
 * straight into a buffer handed to `take` (`onread`): no stream buffers
 * bytes in memory, and pausing stops the reading at the kernel, where
 * unread bytes wait in the pipe. On a full disk every pipe is paused while
 * the intake's reserved room lasts, and resumed once there is space again.
 */
export class IntakePump {
  private readers = new Map<string, PipeReader>();
  private watcher: fs.FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Reads that could not be written (the disk filled past the reserve): written first when space returns. */
  private held: Array<{ pipe: string; ts: number; data: Buffer }> = [];
  private paused = false;
  private appendScheduled = false;
  private closed = false;
  private fullSince: Date | undefined;
  /** Pipes refused (a symlink, a regular file...): said once each, not at every rescan. */
  private refused = new Set<string>();

  constructor(private readonly layout: Layout, private readonly writer: IntakeWriter, private readonly options: IntakePumpOptions) {}

  /** When the disk filled up (intake paused), while it is full. */
  get diskFullSince(): Date | undefined {
    return this.fullSince;
  }

  start(): void {
    this.rescan();
    try {
      this.watcher = fs.watch(this.layout.agentsDir, () => this.rescan());
      this.watcher.on('error', () => undefined);
    } catch (error) {
      this.options.log(`watch ${this.layout.agentsDir}: ${(error as Error).message}`);
    }
    // fs.watch can miss events (a full inotify queue); a full disk is retried here too.
    this.timer = setInterval(() => {
      this.rescan();
      if (this.paused) this.retry();
    }, RETRY_MS);
  }

  /** Stops reading; what the pipes still hold is read into the intake first (the kernel drops it with the last fd). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.watcher?.close();
    for (const reader of this.readers.values()) {
      if (this.held.length === 0 && !this.writer.full) this.drain(reader);
      reader.socket.destroy();
    }
    this.readers.clear();
    if (this.held.length > 0) this.options.log(`intake: ${this.held.length} read(s) could not be written before closing (disk full)`);
  }

  private drain(reader: PipeReader): void {
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(reader.fd, buffer, 0, buffer.length, null);
      } catch {
        return; // EAGAIN: empty
      }
      if (n <= 0) return;
      try {
        this.writer.append(reader.pipe, Date.now(), buffer.subarray(0, n));
      } catch (error) {
        this.options.log(`intake: ${n} byte(s) from ${reader.pipe} could not be written while closing: ${(error as Error).message}`);
        return;
      }
    }
  }

  /** Opens the pipes not open yet; closes those whose file is gone. */
  private rescan(): void {
    if (this.closed) return;
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.layout.agentsDir);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') this.options.log(`${this.layout.agentsDir}: ${(error as Error).message}`);
    }
    const present = new Set([...this.layout.fixedPipes, ...names.map((n) => path.join(this.layout.agentsDir, n))]);
    for (const file of present) this.open(file);
    for (const [file, reader] of this.readers) {
      if (!present.has(file)) {
        reader.socket.destroy();
        this.readers.delete(file);
      }
    }
  }

  private open(file: string): void {
    if (this.readers.has(file)) return;
    const origin = originOf(this.layout, file);
    if (!origin) return; // not a pipe name of ours (a temp file, a stray name)
    let fd: number;
    try {
      checkEntry(file, 'fifo');
      fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') this.refuse(file, origin.pipe, error as Error);
      return;
    }
    try {
      // Between the check and the open the file could have been swapped: check what was opened.
      checkEntry(file, 'fifo', fs.fstatSync(fd));
    } catch (error) {
      fs.closeSync(fd);
      this.refuse(file, origin.pipe, error as Error);
      return;
    }
    this.refused.delete(file);
    const pipe = origin.pipe;
    const socket = new net.Socket({
      fd,
      readable: true,
      writable: false,
      onread: { buffer: Buffer.allocUnsafe(READ_BYTES), callback: (n: number, buffer: Uint8Array) => this.take(pipe, buffer, n) },
    } as net.SocketConstructorOpts);
    socket.on('error', (error) => this.options.log(`${pipe}: read error: ${error.message}`));
    this.readers.set(file, { pipe, fd, socket });
    if (this.paused) socket.pause();
  }

  private refuse(file: string, pipe: string, error: Error): void {
    if (this.refused.has(file)) return;
    this.refused.add(file);
    this.options.log(`${pipe}: not opened: ${error.message}`);
  }

  /** One read: written to the intake before this returns. False pauses this pipe. */
  private take(pipe: string, buffer: Uint8Array, n: number): boolean {
    const data = Buffer.from(buffer.buffer, buffer.byteOffset, n);
    const ts = Date.now();
    if (this.held.length > 0) {
      this.held.push({ pipe, ts, data: Buffer.from(data) }); // keep the order: behind what waits already
      this.pause();
      return false;
    }
    try {
      this.writer.append(pipe, ts, data);
    } catch (error) {
      // Past the reserve (it should not happen): keep this read, stop reading until space returns.
      this.held.push({ pipe, ts, data: Buffer.from(data) });
      this.pause(error as Error);
      return false;
    }
    this.scheduleAppend();
    if (this.writer.full) {
      this.pause();
      return false;
    }
    return true;
  }

  private scheduleAppend(): void {
    if (this.appendScheduled) return;
    this.appendScheduled = true;
    setImmediate(() => {
      this.appendScheduled = false;
      if (!this.closed) this.options.onAppend();
    });
  }

  private pause(error?: Error): void {
    if (this.paused) return;
    this.paused = true;
    this.fullSince ??= new Date();
    for (const { socket } of this.readers.values()) socket.pause();
    this.options.log(`intake: disk full${error ? ` (${error.message})` : ''}; pipes paused, their bytes wait there; retrying every ${RETRY_MS / 1000}s`);
  }

  private retry(): void {
    if (!this.writer.reserve() && this.writer.full) return;
    while (this.held.length > 0) {
      const next = this.held[0]!;
      try {
        this.writer.append(next.pipe, next.ts, next.data);
      } catch {
        return;
      }
      this.held.shift();
      this.scheduleAppend();
    }
    if (this.writer.full) return;
    this.paused = false;
    this.options.log(`intake: disk space is back after ${Math.round((Date.now() - this.fullSince!.getTime()) / 1000)}s; reading the pipes again`);
    this.fullSince = undefined;
    for (const { socket } of this.readers.values()) socket.resume();
  }
}
