import fs from 'node:fs';
import { errnoCode } from '../bus/errors.js';
import { writeFileAtomic } from '../bus/fs-safety.js';

/** An arrival the outbound side never saw (its message was a repeat the router dropped) is forgotten after this long. */
const MAX_AGE_MS = 60 * 60_000;
/** The file is rewritten with only what is still open once it holds this many lines more than that. */
const COMPACT_SLACK = 10_000;

/**
 * The ids this bridge journaled from NATS, until its outbound side has
 * passed their lines. The journal does not say where a line came from, and
 * a message from a sender no directory names (`user`, a script, another
 * machine's `orchestrator`) to `*` is for this machine's agents and for the
 * other machines' alike: without this, it would be published back out.
 * An id is written down (`state/bridge-arrivals`, one `<ms> <id>` a line)
 * before its message is journaled, so a bridge that restarts behind its
 * journal still knows which lines were not its machine's own.
 */
export class BridgeArrivals {
  private readonly open = new Map<string, number>();
  private lines = 0;
  private fd: number | undefined;

  constructor(private readonly file: string) {
    const now = Date.now();
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
    for (const line of text.split('\n')) {
      const space = line.indexOf(' ');
      const at = Number(line.slice(0, space));
      if (space > 0 && now - at < MAX_AGE_MS) this.open.set(line.slice(space + 1), at);
    }
    this.rewrite();
  }

  /** Writes these ids down (before their messages are journaled). */
  add(ids: readonly string[]): void {
    if (ids.length === 0) return;
    const now = Date.now();
    let text = '';
    for (const id of ids) {
      this.open.set(id, now);
      text += `${now} ${id}\n`;
    }
    fs.writeSync(this.appendFd(), text);
    this.lines += ids.length;
  }

  /** True (once) when this id arrived from NATS: its line is not to be published. */
  take(id: string): boolean {
    return this.open.delete(id);
  }

  has(id: string): boolean {
    return this.open.has(id);
  }

  /** Forgets arrivals past their age, and rewrites the file once it is mostly what was taken. */
  compact(): void {
    const now = Date.now();
    for (const [id, at] of this.open) if (now - at >= MAX_AGE_MS) this.open.delete(id);
    if (this.lines > this.open.size + COMPACT_SLACK || (this.open.size === 0 && this.lines > 0)) this.rewrite();
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private rewrite(): void {
    this.close();
    let text = '';
    for (const [id, at] of this.open) text += `${at} ${id}\n`;
    writeFileAtomic(this.file, text, 0o600, false);
    this.lines = this.open.size;
  }

  private appendFd(): number {
    this.fd ??= fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    return this.fd;
  }
}
