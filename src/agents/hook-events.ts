import type { AgentState } from './profile-types.js';

/** The CLIs whose hooks bmad-bus understands. */
export type HookCli = 'claude' | 'gemini' | 'qwen' | 'codex';
export const HOOK_CLIS: readonly HookCli[] = ['claude', 'gemini', 'qwen', 'codex'];
/** The CLIs whose hooks can answer with messages (delivery mode `hooks`); Codex's notify cannot answer. */
export const HANDOFF_CLIS: readonly HookCli[] = ['claude', 'gemini', 'qwen'];

/** What one hook call tells: the agent's state now, and the prompt it just submitted (a receipt). */
export interface HookReport {
  event: string;
  state?: AgentState;
  prompt?: string;
}

type Payload = Record<string, unknown>;
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * Reads one hook call. Claude Code and Gemini CLI (and its fork Qwen Code)
 * pass a JSON object on stdin with `hook_event_name`; Codex's `notify` passes
 * one as its last argument with `type`. Events that say nothing about the
 * state (a tool call) give a report without one.
 *
 * - a prompt submitted (Claude `UserPromptSubmit`, Gemini `BeforeAgent`,
 *   Codex `user-prompt-submit`): busy, with the prompt as the receipt;
 * - a turn done (Claude `Stop`, Gemini `AfterAgent`, Codex
 *   `agent-turn-complete`): idle;
 * - a notification: `permission_prompt` / `ToolPermission` (or one whose
 *   message asks for permission) is waiting_input, `idle_prompt` is idle;
 * - compaction (Claude `PreCompact`, Gemini `PreCompress`): compacting;
 * - a session start: idle (the CLI is up and waits for input).
 */
export function readHookReport(cli: HookCli, eventArg: string, payload: Payload): HookReport {
  const event = text(payload.hook_event_name) ?? text(payload.type) ?? eventArg;
  switch (event) {
    case 'UserPromptSubmit':
    case 'BeforeAgent':
    case 'user-prompt-submit':
      return { event, state: 'busy', ...promptOf(cli, payload) };
    case 'Stop':
    case 'StopFailure': // the turn ended in an API error: the agent waits for input again
    case 'AfterAgent':
      return { event, state: 'idle' };
    case 'agent-turn-complete':
      // Codex says only at the end of a turn what its input was: the receipt comes late, but it comes.
      return { event, state: 'idle', ...promptOf(cli, payload) };
    case 'Notification': {
      const kind = text(payload.notification_type) ?? '';
      const message = text(payload.message) ?? '';
      if (kind === 'permission_prompt' || kind === 'ToolPermission' || /permission|approv|confirm/i.test(message)) return { event: `Notification:${kind || 'permission'}`, state: 'waiting_input' };
      if (kind === 'idle_prompt' || /waiting for your input/i.test(message)) return { event: `Notification:${kind || 'idle'}`, state: 'idle' };
      return { event: `Notification:${kind || 'other'}` };
    }
    case 'PreCompact':
    case 'PreCompress':
      return { event, state: 'compacting' };
    case 'SessionStart':
      return { event, state: 'idle' };
    default: // SubagentStop, SessionEnd, tool events: nothing about the agent's own turn
      return { event };
  }
}

function promptOf(cli: HookCli, payload: Payload): { prompt?: string } {
  const direct = text(payload.prompt);
  if (direct !== undefined) return { prompt: direct };
  // Codex lists the turn's input messages.
  const inputs = payload['input-messages'] ?? payload.input_messages;
  if (cli === 'codex' && Array.isArray(inputs)) {
    const joined = inputs.filter((m): m is string => typeof m === 'string').join('\n');
    if (joined) return { prompt: joined };
  }
  return {};
}
