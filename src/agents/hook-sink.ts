import type { DeliveryItem, DeliveryResult, PaneSinkContext, Sink } from '../bus/delivery.js';
import { appendTrail } from '../bus/delivery-trail.js';
import type { Envelope } from '../bus/envelope.js';
import type { AgentRecord } from '../bus/registry.js';
import { readStateFile } from '../bus/state-file.js';
import { readReadCursor } from '../journal/cursors.js';
import { HANDOFF_CLIS } from './hook-events.js';
import type { Handoff } from './hook-handoff.js';
import type { AgentProfile } from './profile-types.js';

/** How often the sink looks whether the agent's hook has taken its messages. */
const LOOK_MS = 500;
/** A nudge the hook did not follow (typed into a CLI that lost it, hooks not installed) is typed again after this long. */
const NUDGE_AGAIN_MS = 30_000;
/** Nudges for the same first message before it is reported: the hooks take nothing. */
const MAX_NUDGES = 3;

/** The fixed wake-up typed into an idle agent: short, one line, the same every time. */
export function nudgeText(count: number): string {
  return `You have ${count} new bus message${count === 1 ? '' : 's'}.`;
}

/** The pane sink the nudges are typed with, and the profile it types by now. */
export interface Nudger extends Sink {
  currentProfile(): Promise<AgentProfile>;
}

/**
 * Delivery mode `hooks`, the router's side: the agent's own hooks hand its
 * messages over (agents/hook-handoff.ts) from its read position, so a
 * message counts as delivered once the read position is past it, that is
 * once the CLI went on with what its hook gave it. Nothing of a message is
 * ever typed. An idle agent has no turn ending, so it gets one short, fixed
 * nudge ("You have 3 new bus messages.") typed by its profile's rules; a
 * busy one is left to its turn-end hook. A nudge the hooks do not follow
 * is typed again after NUDGE_AGAIN_MS, at most MAX_NUDGES times, and then
 * reported once (`delivery_unconfirmed`, `via: hooks`).
 */
export class HookSink implements Sink {
  readonly kind = 'hooks' as const;
  /** The first message not yet taken, when it was last nudged for, and how often. */
  private nudged: { offset: number; at: number; count: number; reported: boolean } | undefined;

  constructor(
    private readonly agent: AgentRecord,
    private readonly context: PaneSinkContext,
    private readonly nudger: Nudger | undefined,
  ) {}

  onWake(wake: () => void): void {
    this.nudger?.onWake?.(wake);
  }

  async deliver(items: DeliveryItem[]): Promise<DeliveryResult> {
    const position = readReadCursor(this.context.layout, this.agent.name) ?? this.agent.since ?? 0;
    let taken = 0;
    while (taken < items.length && items[taken]!.end <= position) taken++;
    if (taken === items.length) return { delivered: taken };
    const handoff = this.pendingHandoff();
    // Handed over already, and the CLI is on it: its next hook call settles them.
    let first = taken;
    while (first < items.length && handoff !== undefined && items[first]!.end <= handoff.to && items[first]!.offset >= handoff.from) first++;
    if (first > taken && first === items.length) return this.wait(taken, `handed over by its ${handoff!.cli} ${handoff!.event} hook at ${handoff!.at}: waiting for the CLI to go on with them`);
    const waiting = items.slice(first);
    const why = await this.cannotNudge();
    if (why) return this.wait(taken, why);
    const now = Date.now();
    const head = waiting[0]!;
    if (this.nudged?.offset === head.offset && now - this.nudged.at < NUDGE_AGAIN_MS) return this.wait(taken, `nudged at ${new Date(this.nudged.at).toISOString()}: waiting for its hook to take ${waiting.length} message(s)`);
    if (this.nudged?.offset === head.offset && this.nudged.count >= MAX_NUDGES) return this.wait(taken, this.giveUp(head.envelope));
    const typedAt = new Date().toISOString();
    const typed = await this.nudger!.deliver([nudgeItem(this.agent.name, waiting.length, head)]);
    if (typed.delivered === 0) {
      // Busy (its turn end will hand them over), asking its human, or the pane is away: the pane sink's reason says which.
      return this.wait(taken, `not nudged: ${typed.waiting ?? 'pane not ready'}`);
    }
    const count = this.nudged?.offset === head.offset ? this.nudged.count + 1 : 1;
    this.nudged = { offset: head.offset, at: Date.now(), count, reported: false };
    for (const item of waiting) this.trail(item.envelope.id, typedAt, `typed "${nudgeText(waiting.length)}" (${count} of ${MAX_NUDGES})`);
    return this.wait(taken, `nudged: waiting for its hook to take ${waiting.length} message(s)`);
  }

  close(): Promise<void> {
    return this.nudger?.close() ?? Promise.resolve();
  }

  /** Why no nudge can be typed: no pane, or a CLI whose hooks cannot hand messages over. */
  private async cannotNudge(): Promise<string | undefined> {
    if (!this.nudger) return "no pane to nudge: the messages go at the end of the agent's next turn, by its hook";
    const profile = await this.nudger.currentProfile();
    if (!profile.hooks || !HANDOFF_CLIS.includes(profile.hooks)) {
      return `profile ${profile.name} has no hooks that hand messages over (${HANDOFF_CLIS.join(', ')} do): deliver it by tmux`;
    }
    return undefined;
  }

  /** After MAX_NUDGES: one event, then the reason stays in `waiting` (a turn the agent takes for any reason still hands them over). */
  private giveUp(envelope: Envelope): string {
    const reason = `nudged ${MAX_NUDGES} times, its hooks took nothing: are they installed (bmad-bus hooks status)?`;
    if (!this.nudged!.reported) {
      this.nudged!.reported = true;
      this.context.log(`hooks ${this.agent.name}: ${reason}`);
      this.context.publish({ to: 'orchestrator', type: 'event', body: { event: 'delivery_unconfirmed', agent: this.agent.name, id: envelope.id, via: 'hooks', reason } });
    }
    return reason;
  }

  private pendingHandoff(): Handoff | undefined {
    try {
      return readStateFile<{ pending?: Handoff }>(this.context.layout.handoffFile(this.agent.name), {}).pending;
    } catch {
      return undefined; // being replaced right now: looked at again in LOOK_MS
    }
  }

  private trail(id: string, at: string, detail: string): void {
    try {
      appendTrail(this.context.layout, this.agent.name, { id, stage: 'nudged', at, detail });
    } catch (error) {
      this.context.log(`hooks ${this.agent.name}: trail: ${(error as Error).message}`);
    }
  }

  private wait(delivered: number, waiting: string): DeliveryResult {
    return { delivered, waiting, retryAfterMs: LOOK_MS };
  }
}

/** The nudge as a delivery the pane sink types: rendered as its body alone (the `{body}` template). */
function nudgeItem(agent: string, count: number, head: DeliveryItem): DeliveryItem {
  const envelope: Envelope = { id: `nudge-${head.envelope.id}`, ts: new Date().toISOString(), from: 'router', to: agent, type: 'nudge', body: nudgeText(count) };
  return { offset: head.offset, end: head.end, line: '', envelope };
}
