import { StringDecoder } from 'node:string_decoder';

/** What a control-mode client reads from tmux, one piece at a time. */
export type ControlEvent =
  /**
   * The answer to one command this client sent: its output lines, and whether
   * tmux closed it with `%end` (ok) or `%error`.
   */
  | { type: 'block'; ok: boolean; lines: string[] }
  /** `%exit [reason]`: tmux is ending this client. */
  | { type: 'exit'; reason: string }
  /** Any other `%` line outside a block (`%session-changed`, `%window-add`...). */
  | { type: 'notification'; line: string };

const BEGIN = /^%begin (\d+ \d+) (\d+)$/;
const END = /^%(end|error) (\d+ \d+) \d+$/;

/**
 * The tmux control-mode protocol as a pure parser: bytes in (in chunks of any
 * size, split anywhere, even inside a UTF-8 character), events out. No I/O,
 * no timers: ControlClient feeds it from the child's stdout and matches the
 * blocks to its commands in order.
 *
 * A block is `%begin TIME NUMBER FLAGS`, output lines, then `%end` or
 * `%error` with the same numbers. Flag 1 marks a command this client sent;
 * a block without it (the attach command's own) is skipped. tmux does not
 * escape command output, so a block ends only at an `%end`/`%error` line
 * with the time and number of its own `%begin`: a captured screen showing
 * text like `%end 1 2 1` stays output.
 */
export class ControlParser {
  private readonly decoder = new StringDecoder('utf8');
  private buffered = '';
  /** Output lines of the block being read; undefined outside our blocks. */
  private block: string[] | undefined;
  /** Inside a block that is not ours. */
  private foreign = false;
  /** `TIME NUMBER` of the open block's `%begin`, which its `%end` repeats. */
  private blockId = '';

  /** Feeds bytes (or already decoded text); returns the events they complete, in order. */
  push(chunk: Buffer | string): ControlEvent[] {
    this.buffered += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const events: ControlEvent[] = [];
    let start = 0;
    let newline: number;
    while ((newline = this.buffered.indexOf('\n', start)) >= 0) {
      const line = this.buffered.slice(start, newline);
      start = newline + 1;
      const event = this.line(line.endsWith('\r') ? line.slice(0, -1) : line);
      if (event) events.push(event);
    }
    this.buffered = this.buffered.slice(start);
    return events;
  }

  private line(line: string): ControlEvent | undefined {
    if (this.block !== undefined || this.foreign) {
      const end = END.exec(line);
      if (!end || end[2] !== this.blockId) {
        this.block?.push(line);
        return undefined;
      }
      if (this.foreign) {
        this.foreign = false;
        return undefined;
      }
      const lines = this.block!;
      this.block = undefined;
      return { type: 'block', ok: end[1] === 'end', lines };
    }
    const begin = BEGIN.exec(line);
    if (begin) {
      this.blockId = begin[1]!;
      if ((Number(begin[2]) & 1) === 1) this.block = [];
      else this.foreign = true;
      return undefined;
    }
    if (line.startsWith('%exit')) return { type: 'exit', reason: line.slice(5).trim() };
    if (line.startsWith('%')) return { type: 'notification', line };
    return undefined;
  }
}
