import fs from 'node:fs';
import { readJournal, type JournalLine } from './reader.js';
import { journalEnd } from './segments.js';
import { unlessFsRace } from '../bus/errors.js';

export interface FollowOptions {
  signal?: AbortSignal;
  /** How often to look for new lines when no file event arrives (default 100 ms). */
  pollMs?: number;
}

/**
 * Yields journal lines from `from` on, then waits for new ones, until the
 * signal aborts. It keeps its own byte offset and reads to the end on every
 * wake-up: file events merge bursts of appends, so an event is only a hint.
 */
export async function* followJournal(dir: string, from: number, options: FollowOptions = {}): AsyncGenerator<JournalLine> {
  for await (const lines of followJournalBatches(dir, from, options)) yield* lines;
}

/**
 * followJournal a read at a time: each batch is every whole line that was
 * there (up to about 1 MiB), so a consumer can handle it in one go (one
 * socket write for many publishes, one look at the registry).
 */
export async function* followJournalBatches(dir: string, from: number, options: FollowOptions = {}): AsyncGenerator<JournalLine[]> {
  let position = from;
  const waiter = new Waiter(dir, options);
  try {
    while (!options.signal?.aborted) {
      const { lines, next } = readJournal(dir, position, 1024 * 1024);
      position = next;
      if (lines.length > 0) yield lines;
      else await waiter.wait();
    }
  } finally {
    waiter.close();
  }
}

/** Yields new lines appended to one file from byte `from` on, until the signal aborts. */
export async function* followFile(file: string, from: number, options: FollowOptions = {}): AsyncGenerator<string> {
  let position = from;
  let partial = '';
  const waiter = new Waiter(file, options);
  try {
    while (!options.signal?.aborted) {
      const size = unlessFsRace(() => fs.statSync(file).size, 0, ['ENOENT']);
      if (size < position) position = 0; // replaced
      if (size > position) {
        const fd = fs.openSync(file, 'r');
        const buffer = Buffer.allocUnsafe(size - position);
        const got = fs.readSync(fd, buffer, 0, buffer.length, position);
        fs.closeSync(fd);
        position += got;
        const text = partial + buffer.toString('utf8', 0, got);
        const lines = text.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line) yield line;
      } else {
        await waiter.wait();
      }
    }
  } finally {
    waiter.close();
  }
}

/** Waits for a file event or the poll interval, whichever comes first. */
class Waiter {
  private watcher: fs.FSWatcher | undefined;
  private wake: (() => void) | undefined;
  constructor(target: string, private readonly options: FollowOptions) {
    // Not there yet: polling covers it.
    this.watcher = unlessFsRace(() => fs.watch(target, () => this.wake?.()), undefined, ['ENOENT']);
    this.watcher?.on('error', () => undefined);
    options.signal?.addEventListener('abort', () => this.wake?.(), { once: true });
  }
  wait(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.options.pollMs ?? 100);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
  close(): void {
    this.watcher?.close();
  }
}

export { journalEnd };
