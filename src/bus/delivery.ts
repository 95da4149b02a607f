import type { ConsumerKind } from './address-book.js';
import type { Envelope } from './envelope.js';
import type { Layout } from './layout.js';
import type { AgentRecord } from './registry.js';

/** One journaled message on its way to one consumer. */
export interface DeliveryItem {
  /** Global journal offset of the message's line, and of the byte after its newline. */
  offset: number;
  end: number;
  /** The journal line, without its newline. */
  line: string;
  envelope: Envelope;
}

/** What a sink did with a batch: the first `delivered` items went through, in order. */
export interface DeliveryResult {
  delivered: number;
  /** When fewer than all went through: try the rest again after this long (the sink may call `wake` sooner). */
  retryAfterMs?: number;
  /** Why the rest is waiting, for `status` (e.g. "no reader", "pane runs bash, expected claude"). */
  waiting?: string;
  /**
   * Messages the sink handed on but can no longer vouch for (a FIFO reader that
   * left with bytes unread): deliver again from this offset. At-least-once.
   */
  rewindTo?: number;
}

/**
 * Where a consumer's messages go: an agent's inbox FIFO or its tmux pane. The
 * router's consumer owns order, cursor and backlog; a sink only moves bytes.
 * `deliver` is never called again before its previous promise settled, so a
 * sink sees its messages strictly one batch after another.
 */
export interface Sink {
  readonly kind: ConsumerKind;
  /** Hands a batch on, in order. Must not throw: failures are a result with `delivered` < items.length. */
  deliver(items: DeliveryItem[]): Promise<DeliveryResult>;
  /** The router calls this with a function the sink calls when it may be able to take more (reader came, pane back). */
  onWake?(wake: () => void): void;
  close(): Promise<void>;
}

/** What the router gives a pane sink: where to reach tmux, how to raise an event, where to log. */
export interface PaneSinkContext {
  /** The bus the router serves (profiles and agent states are read from it). */
  layout: Layout;
  /** tmux `-L` socket (the agent's own `tmux_socket` wins). */
  socket?: string;
  /** Puts a message on the bus (the router journals it): `event`s to `orchestrator`. */
  publish: (message: { to: string; type: string; body: unknown }) => void;
  log: (line: string) => void;
}

/**
 * Makes the sink for an agent's tmux pane (delivery `tmux`, `both`), or for
 * its hooks (`hooks`: the sink nudges the idle agent in its pane, and counts
 * a message delivered once the agent's hook handed it over and the CLI took
 * it). The router takes it as an option
 * instead of importing the tmux layer, which sits above it: the layers import
 * downward only, and whoever builds a router (the CLI, the library) wires in
 * the pane delivery.
 */
export type PaneSinkFactory = (agent: AgentRecord, context: PaneSinkContext) => Sink | Promise<Sink>;
