import { appendTrail } from '../bus/delivery-trail.js';
import type { Envelope } from '../bus/envelope.js';
import { ensurePrivateDir } from '../bus/fs-safety.js';
import type { Layout } from '../bus/layout.js';
import { readRegistry } from '../bus/registry.js';
import { updateStateFile } from '../bus/state-file.js';
import { inboxFilter, peekMessages, readPosition } from '../client/read.js';
import { writeReadCursor } from '../journal/cursors.js';
import { HANDOFF_LIMITS, handoffSize, handoffText } from './hook-handoff-text.js';
import type { HookCli } from './hook-events.js';

/**
 * Where in a turn a hook can hand messages over:
 * - `turn-end` (Claude Code and Qwen Code `Stop`, Gemini CLI `AfterAgent`):
 *   the hook blocks the stop, and the CLI goes on with the messages as its
 *   next input;
 * - `prompt` (`UserPromptSubmit`, `BeforeAgent`): the messages go with the
 *   submitted prompt as added context (the nudge's turn, or a human's).
 */
export type HandoffPoint = 'turn-end' | 'prompt';

/** What a hook handed over and the CLI has not yet been seen to take. */
export interface Handoff {
  point: HandoffPoint;
  event: string;
  cli: HookCli;
  /** ISO 8601. */
  at: string;
  /** The read position before them, and after the last of them. */
  from: number;
  to: number;
  ids: string[];
  /** How many turn-end blocks in a row this one is (the CLIs cap a chain of blocks). */
  chain: number;
}

interface HandoffFile {
  pending?: Handoff;
}

/**
 * Turn-end blocks in a row before the rest waits for the next turn (or the
 * router's nudge): Qwen Code ends a chain of 8 on its own, and drops the
 * last block's text with it, so bmad-bus stops well before.
 */
const MAX_CHAIN = 4;
/** How far the messages waiting after a handoff are counted ("1000+ more"). */
const COUNT_LIMIT = 1000;

/** Where a hook event of this CLI can hand messages over; undefined where it cannot (Codex's notify has no answer). */
export function handoffPointOf(cli: HookCli, event: string): HandoffPoint | undefined {
  if (cli === 'codex') return undefined;
  if (event === 'Stop' || event === 'AfterAgent') return 'turn-end';
  if (event === 'UserPromptSubmit' || event === 'BeforeAgent') return 'prompt';
  return undefined;
}

/**
 * What became of the last handoff, seen from the hook call now running:
 * - `taken`: the CLI went on with it. After a turn-end block, the next stop
 *   says so (`stop_hook_active`), and Gemini CLI runs BeforeAgent for the
 *   continuation; after prompt context, the turn's end does.
 * - `lost`: a stop that is not a continuation came instead (the CLI did not
 *   honour the block), the turn failed, or the CLI started again: the same
 *   messages are handed over again (at least once, same ids).
 * - `open`: this event tells nothing about it (a notification).
 */
function outcomeOf(pending: Handoff, point: HandoffPoint | undefined, event: string, continued: boolean): 'taken' | 'lost' | 'open' {
  if (event === 'SessionStart' || event === 'StopFailure') return 'lost';
  if (point === undefined) return 'open';
  if (pending.point === 'turn-end') return point === 'prompt' || continued ? 'taken' : 'lost';
  return 'taken';
}

export interface HookCall {
  cli: HookCli;
  event: string;
  /** The hook's payload said this stop continues a turn a stop hook blocked (`stop_hook_active`). */
  continued: boolean;
}

/**
 * One hook call of an agent under delivery mode `hooks`: settles the last
 * handoff (confirmed: the read position moves past it and its messages are
 * `received`; lost: handed over again), then, at a turn end or a prompt,
 * hands over the agent's next messages from its read position, bounded by
 * HANDOFF_LIMITS. Returns what the hook prints for the CLI, or undefined
 * (print nothing). Agents under another delivery mode are left alone: their
 * messages go elsewhere, and twice would be wrong.
 */
export async function handOver(layout: Layout, agent: string, call: HookCall, now = new Date()): Promise<string | undefined> {
  const record = readRegistry(layout).agents[agent];
  if (record?.deliver !== 'hooks') return undefined;
  ensurePrivateDir(layout.handoffsDir);
  return updateStateFile<HandoffFile, string | undefined>(layout.handoffFile(agent), {}, async (file) => {
    const at = now.toISOString();
    const point = handoffPointOf(call.cli, call.event);
    // Blocks in a row so far: carried while the CLI goes on from one (its next stop, Gemini CLI's BeforeAgent for the continuation).
    let chain = 0;
    const pending = file.pending;
    if (pending) {
      const outcome = outcomeOf(pending, point, call.event, call.continued);
      if (outcome === 'open') return { result: undefined };
      if (outcome === 'taken') {
        await writeReadCursor(layout, agent, pending.to);
        const detail = `${call.cli} ${call.event}: the CLI went on with what its ${pending.event} hook handed over`;
        for (const id of pending.ids) appendTrail(layout, agent, { id, stage: 'received', at, detail });
        if (call.continued || (pending.point === 'turn-end' && point === 'prompt')) chain = pending.chain;
      }
    }
    if (point === undefined || (point === 'turn-end' && chain >= MAX_CHAIN)) return { value: {}, result: undefined };
    const from = readPosition(layout, agent);
    const { messages, remaining, to } = nextMessages(layout, agent, from);
    if (messages.length === 0) return { value: {}, result: undefined };
    const handoff: Handoff = { point, event: call.event, cli: call.cli, at, from, to, ids: messages.map((m) => m.id), chain: point === 'turn-end' ? chain + 1 : chain };
    messages.forEach((m, i) => appendTrail(layout, agent, { id: m.id, stage: 'handed', at, detail: `${call.cli} ${call.event} hook, ${i + 1} of ${messages.length}${remaining ? `, ${remaining} more waiting` : ''}` }));
    return { value: { pending: handoff }, result: hookAnswer(call, point, handoffText(agent, messages, remaining, at)) };
  }, { lockRetries: LOCK_RETRIES });
}

/** About a second of waiting for another hook of the same agent: past that, this call hands nothing over (the next one will). */
const LOCK_RETRIES = 12;

/** The agent's next messages within the bounds, how many wait after them, and the read position after the last. */
function nextMessages(layout: Layout, agent: string, from: number): { messages: Envelope[]; remaining: string; to: number } {
  // One look past the bound tells whether more wait; a count of all of them is worth one more scan only when there are.
  const peek = peekMessages(layout, agent, from, HANDOFF_LIMITS.messages + 1, inboxFilter(layout, agent));
  const messages: Envelope[] = [];
  let chars = 0;
  let to = from;
  for (const { envelope, next } of peek.messages) {
    const size = handoffSize(envelope);
    if (messages.length === HANDOFF_LIMITS.messages || (messages.length > 0 && chars + size > HANDOFF_LIMITS.chars)) break;
    messages.push(envelope);
    chars += size;
    to = next;
  }
  if (messages.length === peek.messages.length && !peek.more) return { messages, remaining: '', to };
  // Counted up to a bound: a hook must start and end in milliseconds, whatever the backlog.
  const rest = peekMessages(layout, agent, to, COUNT_LIMIT);
  return { messages, remaining: `${rest.messages.length}${rest.more ? '+' : ''}`, to };
}

/** The JSON the CLI reads from the hook's stdout: a blocked stop, or context for the prompt. */
function hookAnswer(call: HookCall, point: HandoffPoint, text: string): string {
  if (point === 'turn-end') return JSON.stringify({ decision: 'block', reason: text });
  return JSON.stringify({ hookSpecificOutput: { hookEventName: call.event, additionalContext: text } });
}
