import fs from 'node:fs';
import net from 'node:net';
import { checkEntry } from '../bus/fs-safety.js';

/**
 * Reads a FIFO without ever blocking the process or seeing EOF.
 *
 * `fs.createReadStream` (and async `fs.open`) on a FIFO park libuv's 4-thread
 * pool and end at the first writer's close (nodejs/node#23220, #3628), and
 * `O_RDONLY | O_NONBLOCK` ends after the first writer closes (#45210). So the
 * FIFO is opened `O_RDWR | O_NONBLOCK`: this process then holds a writer end
 * too, never sees EOF, and writers never block on open. The fd is wrapped in a
 * `net.Socket`, which libuv drives with epoll — no thread pool involved.
 */
export class FifoReader {
  readonly file: string;
  private socket: net.Socket | undefined;

  constructor(file: string, private readonly onData: (chunk: Buffer) => void, private readonly onError: (error: Error) => void) {
    this.file = file;
  }

  open(): void {
    if (this.socket) return;
    checkEntry(this.file, 'fifo');
    const fd = fs.openSync(this.file, fs.constants.O_RDWR | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
    // Between the check and the open the file could have been swapped: check what was opened.
    checkEntry(this.file, 'fifo', fs.fstatSync(fd));
    const socket = new net.Socket({ fd, readable: true, writable: false });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.onError(error));
    this.socket = socket;
  }

  pause(): void {
    this.socket?.pause();
  }

  resume(): void {
    this.socket?.resume();
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}
