import type { AgentRecord } from '../bus/registry.js';
import type { DeliveryItem, DeliveryResult, Sink } from '../bus/delivery.js';
import { acquireTmuxClient, releaseTmuxClient, type TmuxClient } from './client.js';
import { PaneInjector } from './injector.js';
import { captureScreen, readPaneInfo, resolvePaneId, shellMismatch } from './pane-info.js';
import { ownerProblem, type PaneOwner } from './pane-owner.js';
import { renderMessage, type MultilineMode } from './render.js';

/**
 * How to type into one program, decided above this layer (an agent profile):
 * the tmux layer only carries it out. Unset fields keep the agent record's
 * own settings (submit key, delay, line breaks) and the readline defaults.
 */
export interface TypingRules {
  submitKey?: string;
  submitDelayMs?: number;
  multiline?: MultilineMode;
  rescueKey?: string;
  maxResubmits?: number;
  verifyWindowMs?: number;
  /** How a submission shows on the screen (see InjectorOptions.confirm). */
  confirm?: (before: string, after: string, text: string) => boolean;
  /** Whether the program still seems to be taking a message whose submission does not show yet (see InjectorOptions.settling). */
  settling?: (pasted: string, now: string) => boolean;
  /**
   * Asked with the pane's screen before each message: a reason not to type
   * now (busy, a permission prompt), or undefined. `lastSubmit`: when this
   * sink last submitted a message (ms since the epoch), if it did.
   */
  gate?: (screen: string, lastSubmit: number | undefined) => string | undefined;
  /** One message per turn of the agent: after each submission the batch stops, and goes on when the gate lets it. */
  onePerTurn?: boolean;
  /**
   * Asked with the screen after a submission did not show: false when the
   * input box is clearly empty (the paste went nowhere), so the message is
   * typed again later; true or undefined (cannot tell) make it unconfirmed.
   */
  inputHolds?: (screen: string) => boolean | undefined;
}

/** One step of a message's way into the pane, for its trail (`bmad-bus trace`); `text` is what was typed. */
export interface PaneDeliveryStep {
  id: string;
  stage: 'typed' | 'submitted' | 'retry' | 'unconfirmed';
  /** ms since the epoch. */
  at: number;
  text: string;
  presses?: number;
  detail?: string;
}

export interface PaneSinkOptions {
  typing?: TypingRules;
  /** tmux `-L` socket; the agent's own `tmux_socket` wins. */
  socket?: string;
  /** Puts a message on the bus (the router journals it): used for `event`s to `orchestrator`. */
  publish: (message: { to: string; type: string; body: unknown }) => void;
  log: (line: string) => void;
  /** Told every step of every message typed (must not throw). */
  report?: (step: PaneDeliveryStep) => void;
  /** Whether the agent's own hook has already reported the message as a submitted prompt (its receipt). */
  received?: (id: string) => boolean;
  /** For tests and benchmarks: poll interval while the pane is away (default 1000 ms). */
  pollMs?: number;
}

/** How long the router waits before trying a pane that could not be typed into. */
const RETRY_MS = 2000;
/** How soon an agent that was busy (or asking its human) is looked at again. */
const GATE_RETRY_MS = 500;
/**
 * A program that dies right after a submission may never have read it: the
 * screen showed the text (the terminal echoes it), but it sat unread in the
 * terminal. Messages confirmed this recently before the pane died or was
 * restarted are delivered again (at-least-once, same ids).
 */
const UNREAD_WINDOW_MS = 1500;
/** How many times a message whose paste went nowhere is typed again before it counts as unconfirmed. */
const MAX_RETYPES = 2;

/**
 * The sink that pastes an agent's messages into its tmux pane. The router
 * owns order, cursor and backlog; this only types, one message after another.
 *
 * Results, per message:
 * - confirmed: counted as delivered;
 * - pane dead, missing, in a bare shell where the agent's program was
 *   expected: not delivered, `waiting` says why, and a poll wakes the router
 *   when the pane is usable again;
 * - unconfirmed (the text still sat in the input line after the bounded
 *   re-presses): counted as handed on, because pasting it again would only
 *   pile a second copy into the same input line, but never reported as done:
 *   an `event` (`delivery_unconfirmed`) goes to `orchestrator` from `router`,
 *   the batch stops there, and `waiting` shows it until the next delivery is
 *   confirmed. One event per spell: while deliveries stay unconfirmed, the
 *   repeats are counted in `waiting` and logged once, not sent again;
 * - refused (the pane does not carry the agent's `@bmad_agent` tag on the
 *   tmux server instance it was registered on — after a server restart `%0`
 *   may be someone else's pane): nothing is typed, `waiting` says why, and
 *   one `delivery_refused` event goes to `orchestrator` while the same
 *   refusal lasts (the reason names the tag and the server instance).
 *
 * An event about a delivery never causes another event: a `delivery_*`
 * event that is itself unconfirmed or refused (the orchestrator's own pane
 * never confirms) is only logged and shown in `waiting`.
 */
export function createPaneSink(agent: AgentRecord, options: PaneSinkOptions): Sink {
  return new PaneSink(agent, options);
}

class PaneSink implements Sink {
  readonly kind = 'tmux' as const;
  private readonly agent: AgentRecord;
  private readonly options: PaneSinkOptions;
  private readonly client: TmuxClient;
  private injector: PaneInjector | undefined;
  private wake: (() => void) | undefined;
  private poll: NodeJS.Timeout | undefined;
  private closed = false;
  private lastWaiting: string | undefined;
  private polling = false;
  /** Recently confirmed messages, and the pid of the program that took them. */
  private recent: Array<{ offset: number; at: number }> = [];
  private lastPid: number | undefined;
  private readonly owner: PaneOwner;
  /** The current spell of unconfirmed deliveries: reported once, counted after. */
  private unconfirmed: { count: number; since: number } | undefined;
  /** `pane|reason` of the refusal last reported: one event per pane, tag and server instance. */
  private refusedKey: string | undefined;
  /** When the last message was submitted (confirmed or not): the gate waits for that turn to end. */
  private lastSubmit: number | undefined;
  /** The message being typed again because its paste went nowhere, and how often it was. */
  private retyping: { offset: number; count: number } | undefined;

  constructor(agent: AgentRecord, options: PaneSinkOptions) {
    this.agent = agent;
    this.options = options;
    this.client = acquireTmuxClient(agent.tmux_socket ?? options.socket);
    this.owner = { agent: agent.name, server: agent.tmux_server };
  }

  onWake(wake: () => void): void {
    this.wake = wake;
  }

  async deliver(items: DeliveryItem[]): Promise<DeliveryResult> {
    try {
      return await this.deliverAll(items);
    } catch (error) {
      // deliver must not throw: an unexpected failure is a retry later.
      this.options.log(`tmux ${this.agent.name}: ${(error as Error).message}`);
      return this.wait(0, `tmux error: ${(error as Error).message}`);
    }
  }

  private async deliverAll(items: DeliveryItem[]): Promise<DeliveryResult> {
    const injector = await this.paneInjector();
    if (!injector) return this.wait(0, 'pane dead/missing');
    const typing = this.options.typing ?? {};
    const multiline: MultilineMode = typing.multiline ?? this.agent.multiline ?? 'join';
    for (let i = 0; i < items.length; i++) {
      const ready = await injector.prepare();
      if ('reason' in ready) {
        if (ready.refused) this.reportRefused(injector.paneId, items[i]!, ready.reason);
        return this.rewound(this.wait(i, ready.reason));
      }
      this.refusedKey = undefined;
      // The supervisor is restarting the agent: its restore prompt goes first, then the backlog.
      if (ready.info.holdUntil > Date.now()) return this.rewound(this.wait(i, 'held: the supervisor is restoring the agent'));
      if (this.lastPid !== undefined && ready.info.pid !== this.lastPid) {
        // The program was restarted since the last message: the last ones may be unread.
        this.lastPid = ready.info.pid;
        const result = this.rewound({ delivered: i });
        if (result.rewindTo !== undefined) return result;
      }
      this.lastPid = ready.info.pid;
      const mismatch = shellMismatch(ready.info, this.agent.command);
      if (mismatch) return this.wait(i, mismatch);
      if (typing.gate) {
        // Nothing is typed into a permission prompt, a modal or a rate-limit screen; under when-idle, nor into a busy agent.
        const screen = await captureScreen(this.client, injector.paneId);
        if (screen === undefined) return this.rewound(this.wait(i, 'pane dead/missing'));
        const closed = typing.gate(screen, this.lastSubmit);
        if (closed) return this.wait(i, closed, GATE_RETRY_MS);
      }
      const item = items[i]!;
      const text = renderMessage(item.envelope, this.agent.template, multiline);
      const result = await injector.inject(text);
      if (result.status === 'failed') {
        if (result.refused) this.reportRefused(injector.paneId, item, result.reason);
        return this.rewound(this.wait(i, result.reason));
      }
      const step = (stage: PaneDeliveryStep['stage'], extra: Partial<PaneDeliveryStep> = {}) => this.step({ id: item.envelope.id, stage, at: Date.now(), text, presses: result.presses, ...extra });
      step('typed', { at: result.pastedAt, presses: undefined });
      // The agent's own hook said it got it: the screen check's doubt does not count.
      const heard = result.status === 'unconfirmed' && this.options.received?.(item.envelope.id) === true;
      if (result.status === 'unconfirmed' && !heard && this.retype(item, result.screen)) {
        const reason = `typed text not in the input box after ${result.presses} presses: typing ${item.envelope.id} again`;
        step('retry', { detail: reason });
        return this.wait(i, reason, GATE_RETRY_MS);
      }
      this.retyping = undefined;
      this.lastSubmit = Date.now();
      this.remember(item.offset);
      if (result.status === 'unconfirmed' && !heard) {
        step('unconfirmed');
        const waiting = this.reportUnconfirmed(injector.paneId, item, result.presses);
        this.lastWaiting = waiting;
        return { delivered: i + 1, waiting, retryAfterMs: RETRY_MS };
      }
      step('submitted');
      if (this.unconfirmed) {
        this.options.log(`tmux ${this.agent.name}: submits confirmed again, after ${this.unconfirmed.count} unconfirmed since ${new Date(this.unconfirmed.since).toISOString()}`);
        this.unconfirmed = undefined;
      }
      // The agent took a turn's input: the next message waits until the gate sees it idle again.
      if (typing.onePerTurn && i + 1 < items.length) return { delivered: i + 1, retryAfterMs: GATE_RETRY_MS };
    }
    this.lastWaiting = undefined;
    return { delivered: items.length };
  }

  /** Whether an unconfirmed message is to be typed again: its paste went nowhere, and it was not typed again too often yet. */
  private retype(item: DeliveryItem, screen: string): boolean {
    if (this.options.typing?.inputHolds?.(screen) !== false) return false;
    const count = this.retyping?.offset === item.offset ? this.retyping.count : 0;
    if (count >= MAX_RETYPES) return false;
    this.retyping = { offset: item.offset, count: count + 1 };
    return true;
  }

  private step(step: PaneDeliveryStep): void {
    try {
      this.options.report?.(step);
    } catch (error) {
      this.options.log(`tmux ${this.agent.name}: trail: ${(error as Error).message}`);
    }
  }

  /** The first unconfirmed delivery of a spell is logged and sent as an event; the rest are counted. Returns `waiting`. */
  private reportUnconfirmed(paneId: string, item: DeliveryItem, presses: number): string {
    const id = item.envelope.id;
    const first = !this.unconfirmed;
    this.unconfirmed ??= { count: 0, since: Date.now() };
    this.unconfirmed.count++;
    const key = this.options.typing?.submitKey ?? this.agent.submit ?? 'Enter';
    const spell = this.unconfirmed.count > 1 ? ` (${this.unconfirmed.count} unconfirmed since ${new Date(this.unconfirmed.since).toISOString()})` : '';
    const waiting = `unconfirmed: ${id} not seen submitted after ${presses} presses of ${key}${spell}`;
    if (first) {
      this.options.log(`tmux ${this.agent.name}: ${waiting}`);
      if (!isDeliveryEvent(item)) {
        this.options.publish({
          to: 'orchestrator',
          type: 'event',
          body: { event: 'delivery_unconfirmed', agent: this.agent.name, id, pane: paneId, presses },
        });
      }
    }
    return waiting;
  }

  /** A pane that is not the agent's: one event while the same refusal lasts (wait() logs the reason once). */
  private reportRefused(paneId: string, item: DeliveryItem, reason: string): void {
    // The reason names the pane's tag and, for a server mismatch, the server instance.
    const key = `${paneId}|${reason}`;
    if (key === this.refusedKey) return;
    this.refusedKey = key;
    if (isDeliveryEvent(item)) return;
    this.options.publish({
      to: 'orchestrator',
      type: 'event',
      body: { event: 'delivery_refused', agent: this.agent.name, id: item.envelope.id, pane: paneId, reason },
    });
  }

  private remember(offset: number): void {
    const now = Date.now();
    this.recent.push({ offset, at: now });
    while (this.recent.length > 0 && this.recent[0]!.at < now - UNREAD_WINDOW_MS) this.recent.shift();
  }

  /** Adds a rewind to the messages confirmed just before the pane went away. */
  private rewound(result: DeliveryResult): DeliveryResult {
    const since = Date.now() - UNREAD_WINDOW_MS;
    const first = this.recent.find((r) => r.at >= since);
    this.recent = [];
    return first ? { ...result, rewindTo: first.offset } : result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopPoll();
    releaseTmuxClient(this.client);
  }

  /** The injector for the agent's pane, resolving a `session:window.pane` target once it exists. */
  private async paneInjector(): Promise<PaneInjector | undefined> {
    if (this.injector) return this.injector;
    const target = this.agent.tmux;
    if (!target) return undefined;
    const paneId = await resolvePaneId(this.client, target);
    if (!paneId) return undefined;
    const typing = this.options.typing ?? {};
    this.injector = new PaneInjector({
      client: this.client,
      paneId,
      submitKey: typing.submitKey ?? this.agent.submit,
      submitDelayMs: typing.submitDelayMs ?? this.agent.submit_delay,
      rescueKey: typing.rescueKey,
      maxResubmits: typing.maxResubmits,
      verifyWindowMs: typing.verifyWindowMs,
      confirm: typing.confirm,
      settling: typing.settling,
      owner: this.owner,
    });
    return this.injector;
  }

  private wait(delivered: number, reason: string, retryAfterMs = RETRY_MS): DeliveryResult {
    if (reason !== this.lastWaiting) this.options.log(`tmux ${this.agent.name}: waiting (${reason})`);
    this.lastWaiting = reason;
    // A name target may point at another pane next time (the window was rebuilt).
    if (!/^%\d+$/.test(this.agent.tmux ?? '')) this.injector = undefined;
    // A closed gate is the program's own state: asked again on the retry, not by the pane poll.
    if (retryAfterMs === RETRY_MS) this.startPoll();
    return { delivered, waiting: reason, retryAfterMs };
  }

  /** While the pane is away, look every second and wake the router as soon as it can be typed into. */
  private startPoll(): void {
    if (this.poll || this.closed) return;
    this.poll = setInterval(() => {
      if (this.polling) return;
      this.polling = true;
      void this.usable().then((ok) => {
        this.polling = false;
        if (!ok || this.closed) return;
        this.stopPoll();
        this.wake?.();
      });
    }, this.options.pollMs ?? 1000);
    this.poll.unref();
  }

  private stopPoll(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
  }

  private async usable(): Promise<boolean> {
    try {
      const target = this.agent.tmux;
      if (!target) return false;
      const paneId = await resolvePaneId(this.client, target);
      if (!paneId) return false;
      const info = await readPaneInfo(this.client, paneId);
      return Boolean(info && !info.dead && !ownerProblem(info, this.owner) && info.holdUntil <= Date.now() && !shellMismatch(info, this.agent.command));
    } catch {
      // Asked from a poll timer: whatever fails (a server going away mid-command), the answer is "not yet".
      return false;
    }
  }
}

/** The events this sink sends itself: one of them failing to arrive must not cause another. */
const DELIVERY_EVENTS = new Set(['delivery_unconfirmed', 'delivery_refused']);

function isDeliveryEvent(item: DeliveryItem): boolean {
  const { envelope } = item;
  if (envelope.type !== 'event' || envelope.from !== 'router') return false;
  const body = envelope.body as { event?: unknown } | null;
  return typeof body === 'object' && body !== null && DELIVERY_EVENTS.has(String(body.event));
}
