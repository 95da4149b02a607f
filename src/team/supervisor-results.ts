import type { Envelope } from '../bus/envelope.js';
import { subscribe } from '../client/subscribe.js';
import { journalEnd } from '../journal/segments.js';
import type { ReplyTimes } from './reply-times.js';
import type { SupervisorContext } from './supervisor-context.js';
import { readSupervisorState, updateSupervisorState } from './supervisor-state.js';
import { completeFromResultMessage } from './tasks.js';

/**
 * What the supervisor collects from the journal: `result` messages complete
 * (or fail) their tasks, and every message feeds the reply times scaling
 * reads. It follows the journal from where it stopped last time (the offset
 * it keeps in the supervisor state), so no result is applied twice or missed
 * across a restart of the supervisor.
 */
export class SupervisorResults {
  private readonly ctx: SupervisorContext;
  private readonly replies: ReplyTimes;
  private following: Promise<void> | undefined;
  /** Journal offset of the last message seen. */
  private offset: number | undefined;
  /** The offset as the supervisor state holds it. */
  private saved: number | undefined;

  constructor(ctx: SupervisorContext, replies: ReplyTimes) {
    this.ctx = ctx;
    this.replies = replies;
  }

  /** Starts following: from the saved offset, or from the journal's end the first time. Stops when `signal` aborts. */
  start(signal: AbortSignal): void {
    const saved = readSupervisorState(this.ctx.layout).results_offset;
    this.offset = saved ?? journalEnd(this.ctx.layout.journalDir);
    this.saved = saved;
    this.following = this.follow(this.offset, signal);
  }

  /** Resolves once following has stopped. */
  async stopped(): Promise<void> {
    await this.following?.catch(() => undefined);
  }

  /** Writes the offset into the supervisor state, if it moved. */
  async saveOffset(): Promise<void> {
    const offset = this.offset;
    if (offset === undefined || offset === this.saved) return;
    await updateSupervisorState(this.ctx.layout, (state) => ({ ...state, results_offset: offset }));
    this.saved = offset;
  }

  private async follow(from: number, signal: AbortSignal): Promise<void> {
    try {
      for await (const message of subscribe(this.ctx.layout, { from, signal })) {
        await this.ctx.guard('result', () => this.onMessage(message));
        this.offset = message.offset;
      }
    } catch (error) {
      if (!signal.aborted) this.ctx.fail('following the journal', error);
    }
  }

  private async onMessage(message: Envelope): Promise<void> {
    this.replies.note(message);
    const outcome = await completeFromResultMessage(this.ctx.layout, message);
    if (outcome?.changed) this.ctx.options.log(`task ${outcome.id} is ${outcome.task?.status} (result from ${message.from})`);
  }
}
