import type { Envelope } from '../bus/envelope.js';

/**
 * What one hook call may hand over at most: a turn's worth the CLI takes
 * whole (Claude Code keeps hook output under 10,000 characters in the
 * context), so a long backlog goes over several turns instead.
 */
export const HANDOFF_LIMITS = {
  messages: 20,
  chars: 8000,
  /** One body longer than this is cut in the handoff (the text says how to read it whole). */
  bodyChars: 16 * 1024,
} as const;

/** A message's body as the model reads it: a string as it is, anything else as JSON. */
function bodyText(body: unknown): string {
  return typeof body === 'string' ? body : JSON.stringify(body ?? null);
}

/** The size a message takes in a handoff, for the bound. */
export function handoffSize(envelope: Envelope): number {
  return Math.min(bodyText(envelope.body).length, HANDOFF_LIMITS.bodyChars) + 120;
}

/**
 * The text a hook hands to the CLI: the messages in journal order, each with
 * its id, sender, type and time, and how many more are waiting (`remaining`, '' for none: the next
 * hook hands those over, when this turn ends).
 */
export function handoffText(agent: string, messages: readonly Envelope[], remaining: string, at: string): string {
  const count = messages.length === 1 ? '1 new bus message' : `${messages.length} new bus messages`;
  const more = remaining ? ` (${remaining} more waiting: they come when this turn ends)` : '';
  // The time is the trail's `handed` step: a handoff in the conversation is found again in `bmad-bus trace`.
  const parts = [`[bmad-bus] ${count} for ${agent}, handed over at ${at}${more}.`];
  messages.forEach((envelope, i) => {
    const head = [`--- ${i + 1}/${messages.length}`, `id ${envelope.id}`, `from ${envelope.from}`, `type ${envelope.type}`, envelope.thread ? `thread ${envelope.thread}` : '', envelope.ts].filter(Boolean).join(' · ');
    const text = bodyText(envelope.body);
    const body = text.length > HANDOFF_LIMITS.bodyChars ? `${text.slice(0, HANDOFF_LIMITS.bodyChars)}\n[cut at ${HANDOFF_LIMITS.bodyChars} of ${text.length} characters; the whole message: bmad-bus trace ${envelope.id} --json]` : text;
    parts.push(`${head}\n${body}`);
  });
  parts.push(`Reply on the bus: bmad-bus send <to> "<text>" (or the send_message tool).`);
  return parts.join('\n\n');
}
