import fs from 'node:fs';
import net from 'node:net';
import { waitFor } from './bus.js';

/**
 * Reads an inbox FIFO the way an agent's reader would, without blocking the
 * test: opened O_RDWR | O_NONBLOCK and driven by a net.Socket (epoll), like
 * the router's own FIFO reader. Collects complete lines; always `close()` it.
 */
export class InboxTap {
  readonly lines: string[] = [];
  private partial = Buffer.alloc(0);
  private readonly socket: net.Socket;

  constructor(readonly file: string) {
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
    this.socket = new net.Socket({ fd, readable: true, writable: false });
    this.socket.on('data', (chunk: Buffer) => {
      let data = Buffer.concat([this.partial, chunk]);
      for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a)) {
        this.lines.push(data.subarray(0, nl).toString('utf8'));
        data = data.subarray(nl + 1);
      }
      this.partial = Buffer.from(data);
    });
    this.socket.on('error', () => undefined);
  }

  /** Parsed envelopes received so far. */
  get messages(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Waits until a message matching `match` arrived; returns it. */
  async waitFor(match: (m: Record<string, unknown>) => boolean, timeoutMs = 15_000, what = 'an inbox message'): Promise<Record<string, unknown>> {
    return waitFor(() => this.messages.find(match), timeoutMs, what);
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Writes bytes into a FIFO some process reads (fails fast with ENXIO when
 * none does), waiting out a full pipe instead of blocking the test.
 */
export async function writeFifo(file: string, data: string | Buffer): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  // A pipe made a moment ago may not be open in the router yet (it watches for
  // new ones): wait for the reader, as a blocking `echo >` would.
  let fd: number | undefined;
  for (const deadline = Date.now() + 10_000; fd === undefined; ) {
    try {
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO' || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  try {
    let at = 0;
    while (at < bytes.length) {
      try {
        at += fs.writeSync(fd, bytes, at, bytes.length - at);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
        await new Promise((r) => setTimeout(r, 2));
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}
