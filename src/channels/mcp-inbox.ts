import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { decodeJournalLine, type Envelope } from '../bus/envelope.js';
import { UnknownAgentError, unlessFsRace } from '../bus/errors.js';
import type { Layout } from '../bus/layout.js';
import { inboxFilter, peekMessages, readPosition, type ReceivedMessage } from '../client/read.js';
import { writeReadCursor } from '../journal/cursors.js';
import { followJournal, journalEnd } from '../journal/follow.js';

export interface InboxEvents {
  /** A new message for the agent was journaled. */
  message: [Envelope];
  /** The registry changed (agents came, went, or changed role). */
  agents: [];
  error: [Error];
}

export interface InboxReadOptions {
  /** At most this many messages. */
  max: number;
  /** When there is nothing to read, wait this long for a message (0: answer at once). */
  waitMs?: number;
  /** Acknowledge what is returned (the read position moves past it now). */
  ack?: boolean;
  /** Stop adding messages once their bodies hold this many characters (the first always comes). */
  maxChars?: number;
}

export interface InboxRead {
  messages: Envelope[];
  /** More messages are waiting after these. */
  more: boolean;
  acknowledged: boolean;
}

export interface AckOutcome {
  /** The ids acknowledged now. */
  acknowledged: string[];
  /** Ids that are not among the agent's unacknowledged messages: acknowledged before, or no message of the agent's. */
  unknown: string[];
}

/** How many unacknowledged messages an `ack` looks through for ids it has not seen (after a restart). */
const ACK_LOOKUP = 1000;

/**
 * An agent's inbox as the MCP server offers it: the agent's messages from its
 * own read position — the one `bmad-bus read` keeps, `state/read/<agent>.json`
 * — which moves only when messages are acknowledged, and only past a run of
 * acknowledged ones. What was read but not acknowledged is read again, by
 * this server or the next one after a crash: at least once, never lost.
 * A follower on the journal announces new messages (`message`), which is what
 * wakes a waiting read and the resource-updated notifications.
 */
export class AckInbox extends EventEmitter<InboxEvents> {
  readonly layout: Layout;
  readonly agent: string;
  /** The messages of the last look, in journal order, from `windowFrom` on. */
  private window: ReceivedMessage[] = [];
  private windowFrom = 0;
  /** Where the last look ended when it saw everything up to the journal's end. */
  private windowScanned: number | undefined;
  /** Acknowledged, but not yet behind the position (an earlier message is unacknowledged). */
  private readonly acked = new Set<string>();
  private filter: { mtime: number; isMine: (e: Envelope) => boolean } | undefined;
  private arrivals = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly controller = new AbortController();
  private following: Promise<void> | undefined;

  constructor(layout: Layout, agent: string) {
    super();
    this.layout = layout;
    this.agent = agent;
  }

  /** Starts following the journal for new messages (the `message` and `agents` events). */
  start(): void {
    this.following ??= this.follow().catch((error: unknown) => {
      if (!this.controller.signal.aborted) this.emit('error', error as Error);
    });
  }

  /** Messages from the read position on, skipping those acknowledged already; waits up to `waitMs` for one. */
  async read(options: InboxReadOptions): Promise<InboxRead> {
    const deadline = Date.now() + (options.waitMs ?? 0);
    for (;;) {
      const seen = this.arrivals;
      const { fresh, more } = await this.serial(async () => {
        const found = this.look(options.max, options.maxChars);
        if (found.fresh.length === 0) await this.advance(); // past lines that are not the agent's
        return found;
      });
      if (fresh.length > 0 || Date.now() >= deadline || this.controller.signal.aborted) {
        if (options.ack && fresh.length > 0) await this.ack(fresh.map((e) => e.id));
        return { messages: fresh, more, acknowledged: Boolean(options.ack) && fresh.length > 0 };
      }
      if (this.arrivals === seen) await this.nextArrival(deadline - Date.now());
    }
  }

  /** Acknowledges messages by id: the read position moves past every acknowledged message that has no unacknowledged one before it. */
  ack(ids: readonly string[]): Promise<AckOutcome> {
    return this.serial(async () => {
      // Not in the last look (a server restarted since the read): look again, further.
      if (ids.some((id) => !this.window.some((m) => m.envelope.id === id))) this.look(ACK_LOOKUP);
      const acknowledged: string[] = [];
      const unknown: string[] = [];
      for (const id of new Set(ids)) {
        if (this.window.some((m) => m.envelope.id === id)) {
          this.acked.add(id);
          acknowledged.push(id);
        } else unknown.push(id);
      }
      await this.advance();
      return { acknowledged, unknown };
    });
  }

  /** The unacknowledged messages, without waiting (the `bus://inbox` resource). */
  pending(max: number): Promise<InboxRead> {
    return this.serial(() => {
      const { fresh, more } = this.look(max);
      return { messages: fresh, more, acknowledged: false };
    });
  }

  close(): Promise<void> {
    this.controller.abort();
    return this.following ?? Promise.resolve();
  }

  private look(max: number, maxChars = Infinity): { fresh: Envelope[]; more: boolean } {
    const from = readPosition(this.layout, this.agent);
    const peek = peekMessages(this.layout, this.agent, from, max + this.acked.size, this.isMine());
    this.window = peek.messages;
    this.windowFrom = from;
    this.windowScanned = peek.more ? undefined : peek.scanned;
    // Acknowledged ones behind the position (another reader moved it) are done with.
    for (const id of this.acked) if (!peek.messages.some((m) => m.envelope.id === id) && !peek.more) this.acked.delete(id);
    const unacked = peek.messages.filter((m) => !this.acked.has(m.envelope.id)).map((m) => m.envelope);
    const fresh: Envelope[] = [];
    let chars = 0;
    for (const envelope of unacked) {
      const size = JSON.stringify(envelope.body ?? null).length;
      if (fresh.length === max || (fresh.length > 0 && chars + size > maxChars)) break;
      fresh.push(envelope);
      chars += size;
    }
    return { fresh, more: peek.more || unacked.length > fresh.length };
  }

  /** Moves the saved position past the acknowledged run at the start of the window (and past lines that are not the agent's). */
  private async advance(): Promise<void> {
    let position = this.windowFrom;
    let passed = 0;
    for (const m of this.window) {
      if (!this.acked.has(m.envelope.id)) break;
      position = m.next;
      passed++;
    }
    if (passed === this.window.length && this.windowScanned !== undefined) position = this.windowScanned;
    if (position <= this.windowFrom) return;
    await writeReadCursor(this.layout, this.agent, position);
    for (const m of this.window.slice(0, passed)) this.acked.delete(m.envelope.id);
    this.window = this.window.slice(passed);
    this.windowFrom = position;
  }

  /** The agent's filter, built again when the registry changes (a role or group may have changed). */
  private isMine(): (e: Envelope) => boolean {
    const mtime = unlessFsRace(() => fs.statSync(this.layout.registryFile).mtimeMs, 0, ['ENOENT']);
    if (this.filter?.mtime !== mtime) {
      const changed = this.filter !== undefined;
      this.filter = { mtime, isMine: inboxFilter(this.layout, this.agent) };
      if (changed) this.emit('agents');
    }
    return this.filter.isMine;
  }

  private async follow(): Promise<void> {
    let checked = 0;
    let isMine: ((e: Envelope) => boolean) | undefined;
    const refresh = (): void => {
      checked = Date.now();
      try {
        isMine = this.isMine();
      } catch (error) {
        // Not registered (yet): nothing is the agent's until it is.
        if (error instanceof UnknownAgentError) isMine = undefined;
        else this.emit('error', error as Error);
      }
    };
    refresh();
    const timer = setInterval(() => {
      if (Date.now() - checked >= 500) refresh();
    }, 500);
    timer.unref();
    try {
      for await (const line of followJournal(this.layout.journalDir, journalEnd(this.layout.journalDir), { signal: this.controller.signal })) {
        if (Date.now() - checked >= 200) refresh();
        const envelope = decodeJournalLine(line.line);
        if (isMine?.(envelope)) {
          this.arrivals++;
          this.emit('message', envelope);
        }
      }
    } finally {
      clearInterval(timer);
    }
  }

  private nextArrival(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('message', done);
        this.controller.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.on('message', done);
      this.controller.signal.addEventListener('abort', done, { once: true });
    });
  }

  /** One look or acknowledgement at a time: tool calls may come concurrently. */
  private serial<T>(work: () => T | Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
