import type { Envelope } from '../bus/envelope.js';

/**
 * Reply times for the `response_time` scaling metric, from the journal: an
 * agent's wait starts with the oldest `task` message to it that it has not
 * answered yet and ends with its next message of any type. No I/O: the
 * journal follower feeds it, scaling reads it.
 */
export class ReplyTimes {
  /** Agent → journal time of its oldest unanswered `task` message. */
  private readonly awaiting = new Map<string, number>();
  /** Agent → the reply time of its last answer, until a scaling pass has looked at it. */
  private readonly answered = new Map<string, number>();

  /** One journal message; its own time counts (`now` only when its `ts` does not parse). */
  note(message: Pick<Envelope, 'type' | 'from' | 'to' | 'rcpt' | 'ts'>, now = Date.now()): void {
    const at = Date.parse(message.ts) || now;
    if (message.type === 'task') {
      const agent = message.rcpt ?? message.to;
      if (!this.awaiting.has(agent)) this.awaiting.set(agent, at);
      return;
    }
    const sent = this.awaiting.get(message.from);
    if (sent !== undefined) {
      this.answered.set(message.from, Math.max(0, at - sent));
      this.awaiting.delete(message.from);
    }
  }

  /** The agent's reply time now: the wait so far while it has not answered, else its last answer's; undefined when it was never sent a task. */
  replyMs(agent: string, now: number): number | undefined {
    const waited = this.awaiting.get(agent);
    return waited !== undefined ? now - waited : this.answered.get(agent);
  }

  /** A scaling pass has looked at the answers: each counts once. */
  clearAnswered(): void {
    this.answered.clear();
  }

  /** Stops waiting for an agent's answer (scaling stopped it). */
  forget(agent: string): void {
    this.awaiting.delete(agent);
  }
}
