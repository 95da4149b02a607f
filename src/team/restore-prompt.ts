import { TmuxError } from '../bus/errors.js';
import type { AgentRecord } from '../bus/registry.js';
import type { TmuxClient } from '../tmux/client.js';
import { PaneInjector } from '../tmux/injector.js';
import { readPaneInfo, shellMismatch, type PaneInfo } from '../tmux/pane-info.js';
import { LINE_BREAK_MARK, type MultilineMode } from '../tmux/render.js';
import { sanitizeText } from '../tmux/sanitize.js';
import { waitSettled } from './supervisor-panes.js';

/**
 * The restore prompt: the text typed into an agent's pane once its program
 * runs again, after a supervisor restart or a `restore` — one renderer, one
 * set of rules, one way of typing it, used by both.
 */

/** The agent's own restore prompt, else the topology's default. */
export function restorePromptOf(agent: { restore_prompt?: string | undefined }, fallback: string | undefined): string | undefined {
  return agent.restore_prompt ?? fallback;
}

/** The text as it is pasted: controls made harmless, no trailing line break, line breaks joined unless `keep`. */
export function renderRestorePrompt(text: string, multiline: MultilineMode | undefined): string {
  const safe = sanitizeText(text).replace(/\n+$/, '');
  return multiline === 'keep' ? safe : safe.split('\n').join(LINE_BREAK_MARK);
}

/**
 * Why the prompt must not be typed into this pane, or undefined when it may.
 * Only agents that take messages in their pane get it (`tmux`, `both`, and
 * `hooks`, whose pane is nudged: the prompt is the supervisor's, not a bus message); and
 * never into a shell: the prompt would run as a command line (the same rule
 * that keeps messages out of a bare shell).
 */
export function promptBlocker(agent: Pick<AgentRecord, 'deliver'>, info: Pick<PaneInfo, 'currentCommand' | 'pid'>): string | undefined {
  if (agent.deliver !== 'tmux' && agent.deliver !== 'both' && agent.deliver !== 'hooks') return `delivery mode ${agent.deliver}: its messages do not go to its pane`;
  // The messages' rule, asked as if any program but a shell were expected: a bare shell at its prompt
  // (not a shell running a script or `-c`) never gets the prompt, even when the agent's command is that shell.
  if (shellMismatch(info, NOT_A_SHELL)) return `its pane runs a bare shell (${info.currentCommand}): the prompt would run as a command`;
  return undefined;
}

const NOT_A_SHELL = 'agent-program';

export type PromptOutcome =
  /** Typed and submitted (`confirmed`: the text left the input line). */
  | { status: 'typed'; confirmed: boolean }
  /** Not typed: the rules forbid it, or the pane died or never became ready. */
  | { status: 'skipped'; reason: string }
  /** The agent's program died before the prompt could go in. */
  | { status: 'dead'; reason: string };

export interface PromptTiming {
  /** The screen must stay the same this long (the program printed its banner and waits). */
  settleMs: number;
  /** At most this long for the program to start and settle. */
  timeoutMs: number;
}

/**
 * After a (re)start: waits until the agent's program runs and its screen has
 * settled, then types its restore prompt unless a rule forbids it. The one
 * path both the supervisor and `restore` take.
 */
export async function typeRestorePrompt(
  client: TmuxClient, paneId: string, agent: AgentRecord, prompt: string | undefined, timing: PromptTiming,
): Promise<PromptOutcome> {
  // Settled first in every case: the supervisor learns here whether the restart took.
  const settled = await waitSettled(client, paneId, agent.command, timing);
  if (settled === 'dead') return { status: 'dead', reason: 'its program ended (or never started) before the prompt' };
  if (!prompt) return { status: 'skipped', reason: 'no restore prompt' };
  return typePrompt(client, paneId, agent, prompt);
}

/**
 * Types a prompt of the team's own (the restore prompt, the network_error
 * handler's continue prompt) into a running agent's pane, under the same
 * rules: only into a pane that takes messages, never into a shell.
 */
export async function typePrompt(client: TmuxClient, paneId: string, agent: AgentRecord, prompt: string): Promise<PromptOutcome> {
  const info = await readPaneInfo(client, paneId);
  if (!info || info.dead) return { status: 'dead', reason: 'its program ended before the prompt' };
  const blocker = promptBlocker(agent, info);
  if (blocker) return { status: 'skipped', reason: blocker };
  try {
    const injector = new PaneInjector({ client, paneId, submitKey: agent.submit, submitDelayMs: agent.submit_delay });
    const result = await injector.inject(renderRestorePrompt(prompt, agent.multiline));
    if (result.status === 'failed') return { status: 'skipped', reason: result.reason };
    return { status: 'typed', confirmed: result.status === 'confirmed' };
  } catch (error) {
    if (error instanceof TmuxError) return { status: 'skipped', reason: error.message };
    throw error;
  }
}
