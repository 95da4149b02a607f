import { consumerKindOf, type AddressBook } from '../bus/address-book.js';
import type { DeliveryItem, PaneSinkFactory, Sink } from '../bus/delivery.js';
import type { Layout } from '../bus/layout.js';
import { levelRank } from '../bus/priority.js';
import type { AgentRecord } from '../bus/registry.js';
import { countBacklog } from '../journal/backlog.js';
import { Consumer, INBOX_LIMITS, PANE_LIMITS, type ConsumerHost } from './consumer.js';
import type { HoldQueue } from './hold-queue.js';
import { InboxSink } from './inbox-sink.js';
import { LazySink } from './lazy-sink.js';

export interface ConsumerSetHost {
  journalEnd(): number;
  /** Offset up to which batches have been handed to live consumers. */
  dispatchedEnd(): number;
  /** `count` messages were handed over. */
  delivered(count: number): void;
  /** A consumer came or went: the cursor file changes with the set. */
  changed(): void;
  /** Checked by an inbox sink before it opens a FIFO by path. */
  rootStillOurs(): boolean;
  /** Events of a pane sink, published on the bus. */
  publish(message: { to: string; type: string; body: unknown; from?: string }): void;
  log(line: string): void;
}

/**
 * The router's consumers: one per registered agent and delivery kind (its
 * inbox FIFO, its tmux pane, its hooks), made, kept or replaced as the registry changes,
 * each handed the journaled messages for its agent.
 */
export class ConsumerSet {
  private readonly consumers = new Map<string, Consumer>();
  private readonly consumerHost: ConsumerHost;
  /** Whether the registry's agents have different priority levels (else there is no order to keep, and no sort per message). */
  private mixedPriorities = false;

  constructor(
    private readonly layout: Layout,
    private readonly book: AddressBook,
    private readonly held: HoldQueue,
    private readonly tmuxSocket: string | undefined,
    private readonly paneSinks: PaneSinkFactory | undefined,
    private readonly host: ConsumerSetHost,
  ) {
    this.consumerHost = {
      journalDir: layout.journalDir,
      dispatchedEnd: () => host.dispatchedEnd(),
      isFor: (envelope, agent) => book.recipients(envelope).agents.includes(agent),
      onDelivered: (_consumer, items) => host.delivered(items.length),
      log: (line) => host.log(line),
    };
  }

  values(): IterableIterator<Consumer> {
    return this.consumers.values();
  }

  /** Makes the set match the address book; a new consumer starts at its saved cursor, else at `startFor`. */
  sync(saved: Record<string, number>): void {
    this.mixedPriorities = new Set(this.book.names.map((name) => levelRank(this.book.get(name)?.priority))).size > 1;
    const wanted = new Map<string, AgentRecord>();
    for (const name of this.book.names) {
      for (const key of this.book.consumersOf(name)) wanted.set(key, this.book.get(name)!);
    }
    for (const [key, consumer] of this.consumers) {
      const agent = wanted.get(key);
      if (!agent || consumer.sink instanceof LazySink && consumer.sink.signature !== paneSignature(agent)) {
        void consumer.close();
        this.consumers.delete(key);
        this.host.changed();
      }
    }
    for (const [key, agent] of wanted) {
      if (this.consumers.has(key)) continue;
      const start = saved[key] ?? this.startFor(agent);
      const kind = consumerKindOf(key);
      const sink: Sink = kind === 'inbox' ? new InboxSink(this.layout.inboxPipe(agent.name), () => this.host.rootStillOurs()) : this.paneSink(agent);
      const consumer = new Consumer(key, agent.name, sink, start, this.consumerHost, kind === 'inbox' ? INBOX_LIMITS : PANE_LIMITS);
      this.consumers.set(key, consumer);
      this.host.changed();
      consumer.wake();
    }
  }

  /** A durable message for these agents: every consumer of theirs gets it, the agents of the highest priority first. */
  offer(item: DeliveryItem, agents: readonly string[]): void {
    for (const agent of this.byPriority(agents)) {
      for (const key of this.book.consumersOf(agent)) {
        const consumer = this.consumers.get(key);
        if (!consumer) continue;
        consumer.undelivered++;
        consumer.offer(item);
      }
    }
  }

  /** Everything before `end` was dispatched. */
  advance(end: number): void {
    for (const consumer of this.consumers.values()) consumer.advance(end);
  }

  /** Counts each consumer's undelivered messages once at start (what lies between its cursor and `end`). */
  countBacklog(end: number): void {
    const starts = new Map([...this.consumers].map(([key, c]) => [key, c.cursor]));
    for (const [key, n] of countBacklog(this.layout.journalDir, this.book, starts, end)) this.consumers.get(key)!.undelivered = n;
  }

  cursors(): Record<string, number> {
    const cursors: Record<string, number> = {};
    for (const [key, consumer] of this.consumers) cursors[key] = consumer.cursor;
    return cursors;
  }

  /** Waiting deliveries go on, the agents of the highest priority first (their pastes go to tmux first). */
  wakeAll(): void {
    const order = new Map(this.byPriority([...new Set([...this.consumers.values()].map((c) => c.agent))]).map((name, i) => [name, i]));
    const consumers = [...this.consumers.values()].sort((a, b) => order.get(a.agent)! - order.get(b.agent)!);
    for (const consumer of consumers) consumer.wake();
  }

  /** Agents in order of their priority (`resource_management.priorities`, in the registry), highest first; a stable sort keeps the rest as given. */
  private byPriority(agents: readonly string[]): readonly string[] {
    // offer() runs for every message: one recipient, or one level for all, needs no sort (nor a copy).
    if (agents.length < 2 || !this.mixedPriorities) return agents;
    return [...agents].sort((a, b) => levelRank(this.book.get(a)?.priority) - levelRank(this.book.get(b)?.priority));
  }

  close(): Promise<unknown> {
    return Promise.all([...this.consumers.values()].map((c) => c.close().catch(() => undefined)));
  }

  /** Where delivery starts for an agent with no cursor yet: its held messages, else its registration. */
  private startFor(agent: AgentRecord): number {
    const end = this.host.journalEnd();
    const start = Math.min(agent.since ?? end, end);
    const held = this.held.release(agent.name);
    return held === undefined ? start : Math.min(start, held);
  }

  private paneSink(agent: AgentRecord): Sink {
    const make = this.paneSinks;
    return new LazySink(paneSignature(agent), async () => {
      // A library user's router without pane delivery: the messages wait in the journal, `status` says why.
      if (!make) throw new Error('this router was built without the paneSinks option');
      return make(agent, {
        layout: this.layout,
        socket: agent.tmux_socket ?? this.tmuxSocket,
        publish: (message) => this.host.publish(message),
        log: (line) => this.host.log(`tmux:${agent.name}: ${line}`),
      });
    });
  }
}

/** What a pane sink is made from: a change in any of it replaces the sink. */
function paneSignature(agent: AgentRecord): string {
  return JSON.stringify([agent.tmux, agent.tmux_socket, agent.tmux_server, agent.submit, agent.submit_delay, agent.command, agent.template, agent.multiline, agent.deliver]);
}
