import fs from 'node:fs';
import net from 'node:net';
import { checkEntry, ensureFifo } from '../bus/fs-safety.js';
import { errnoCode } from '../bus/errors.js';
import type { DeliveryItem, DeliveryResult, Sink } from '../bus/delivery.js';
import { PIPE_BUF } from '../bus/envelope.js';

/** Why a path cannot be used, as checkEntry says it (`it is a symlink`), else the error. */
function describeUnsafe(file: string): string {
  try {
    checkEntry(file, 'fifo');
    return `${file}: too many levels of symbolic links`;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Bytes a pipe holds by default: what a reader that leaves may have left unread. */
const PIPE_CAPACITY = 64 * 1024;
const REOPEN_MS = 100;

interface Flushed {
  offset: number;
  bytes: number;
}

/**
 * Writes an agent's messages into its inbox FIFO. Opening `O_WRONLY |
 * O_NONBLOCK` fails with ENXIO while nobody reads: a clean "reader absent"
 * (the messages wait in the journal). Once open, the fd is driven by a
 * `net.Socket` (epoll), so a full pipe never blocks the router: `deliver`
 * resolves when the kernel took the bytes.
 */
export class InboxSink implements Sink {
  readonly kind = 'inbox' as const;
  private socket: net.Socket | undefined;
  private failure: Error | undefined;
  /** Recently written chunks: what to deliver again if the reader leaves without reading them. */
  private flushed: Flushed[] = [];
  private flushedBytes = 0;

  /** `rootStillOurs` is asked before anything is made by path: a root swapped for a symlink must get nothing. */
  constructor(readonly file: string, private readonly rootStillOurs: () => boolean = () => true) {}

  async deliver(items: DeliveryItem[]): Promise<DeliveryResult> {
    if (!this.socket) {
      const opened = this.open();
      if (opened !== true) return { delivered: 0, retryAfterMs: REOPEN_MS, waiting: opened };
    }
    const socket = this.socket!;
    let delivered = 0;
    for (const chunk of atomicChunks(items)) {
      const error = await write(socket, chunk.text);
      if (error || this.failure) {
        this.drop();
        // The reader left: what sat unread in the pipe is gone with it. Deliver those again.
        const rewindTo = this.flushed[0]?.offset ?? items[delivered]!.offset;
        this.flushed = [];
        this.flushedBytes = 0;
        return { delivered, rewindTo, retryAfterMs: REOPEN_MS, waiting: 'inbox reader left' };
      }
      this.remember(items[delivered]!.offset, chunk.bytes);
      delivered += chunk.count;
    }
    return { delivered };
  }

  async close(): Promise<void> {
    this.drop();
  }

  /** Returns true, or why the inbox cannot be written now. */
  private open(): true | string {
    let fd: number;
    try {
      fd = fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENXIO') return 'no reader on the inbox';
      if (code === 'ELOOP') return `inbox unusable: ${describeUnsafe(this.file)}`;
      if (code === 'ENOENT') {
        // Someone removed the FIFO of a registered agent: make it again — but only inside a root still ours.
        if (!this.rootStillOurs()) return 'inbox not re-created: the bus root was removed or replaced';
        try {
          ensureFifo(this.file);
        } catch (inner) {
          return `inbox unusable: ${(inner as Error).message}`;
        }
        return 'no reader on the inbox';
      }
      return `inbox unusable: ${(error as Error).message}`;
    }
    try {
      checkEntry(this.file, 'fifo', fs.fstatSync(fd));
    } catch (error) {
      fs.closeSync(fd);
      return `inbox unusable: ${(error as Error).message}`;
    }
    const socket = new net.Socket({ fd, readable: false, writable: true });
    this.failure = undefined;
    socket.on('error', (error) => {
      this.failure = error;
    });
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
    });
    this.socket = socket;
    return true;
  }

  private drop(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private remember(offset: number, bytes: number): void {
    this.flushed.push({ offset, bytes });
    this.flushedBytes += bytes;
    while (this.flushed.length > 1 && this.flushedBytes - this.flushed[0]!.bytes >= PIPE_CAPACITY) {
      this.flushedBytes -= this.flushed.shift()!.bytes;
    }
  }

}

/**
 * Whole lines in writes of at most PIPE_BUF bytes: such a write into a pipe is
 * all or nothing, so a router killed between two writes never leaves half a
 * line in an inbox (a single line longer than PIPE_BUF cannot have that).
 * One write at a time: queued writes would be merged into one larger writev.
 */
function* atomicChunks(items: DeliveryItem[]): Generator<{ text: string; bytes: number; count: number }> {
  let text = '';
  let bytes = 0;
  let count = 0;
  for (const item of items) {
    const line = `${item.line}\n`;
    const size = Buffer.byteLength(line);
    if (count > 0 && bytes + size > PIPE_BUF) {
      yield { text, bytes, count };
      text = '';
      bytes = 0;
      count = 0;
    }
    text += line;
    bytes += size;
    count++;
  }
  if (count > 0) yield { text, bytes, count };
}

function write(socket: net.Socket, text: string): Promise<Error | null | undefined> {
  return new Promise((resolve) => socket.write(text, resolve));
}
