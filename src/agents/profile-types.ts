import type { MultilineMode } from '../tmux/render.js';

/** What an agent is doing, as far as the bus can tell. */
export type AgentState = 'starting' | 'idle' | 'busy' | 'waiting_input' | 'rate_limited' | 'compacting' | 'dead' | 'failed';
export const AGENT_STATES: readonly AgentState[] = ['starting', 'idle', 'busy', 'waiting_input', 'rate_limited', 'compacting', 'dead', 'failed'];

export { DELIVERY_POLICIES, type DeliveryPolicy } from '../bus/registry.js';
import type { DeliveryPolicy } from '../bus/registry.js';

/**
 * How to read an agent CLI's screen (`capture-pane -p`, plain text). Every
 * pattern is a regular expression source (case-insensitive), so a topology
 * can override it when a CLI changes its screen in a new version.
 */
export interface ScreenPatterns {
  /**
   * The row of the input box where typed text sits: the first capture group
   * is the text (empty when the box is empty). The last matching row of the
   * screen is the input row.
   */
  input: string;
  /**
   * For an input box with a status row inside it (opencode's `┃  Build ·
   * model`): that row. The input is then the text of the matching rows just
   * above it (up to 4), joined; without it, the last matching row.
   */
  input_anchor?: string;
  /** Text an empty input box shows as a hint (not input): `Type your message or @path/to/file`. */
  placeholder: string[];
  /** The agent is working on a turn: spinners, "esc to interrupt". */
  busy: string[];
  /** A permission prompt, a question or a modal: the human is being asked something. */
  waiting_input: string[];
  /** A rate-limit or usage-limit message that stops the agent. */
  rate_limited: string[];
  /** The agent is compacting its context. */
  compacting: string[];
  /** A long paste shown collapsed in the input box or transcript (`[Pasted text #2 +40 lines]`). */
  pasted: string[];
  /**
   * An API or network error the CLI has given up on (no more retries of its
   * own): Claude Code's `● API Error: 500 …`, Codex's `■ stream error …`.
   * It counts while it is the CLI's latest word: no later input row, nothing busy.
   */
  network_error: string[];
  /**
   * In a rate-limit or usage-limit line, the time it resets: the first
   * capture group is a clock time (`3pm`, `3:15pm`, `15:15`), read in UTC
   * when the line says `(UTC)`, else in local time.
   */
  reset_time: string[];
}

/** Everything bmad-bus needs to know to type into one agent CLI and to tell what it is doing. */
export interface AgentProfile {
  name: string;
  description: string;
  /** Program names (`programOf` of the agent's command) that `--profile auto` maps to this profile. */
  programs: string[];
  /** An AI coding agent: `when-idle` delivery and hooks are on by default. */
  ai: boolean;
  /** The key that submits the input, by tmux key name. */
  submit_key: string;
  /** Milliseconds between the end of the paste and the submit key (CLIs turn an early Enter into a newline). */
  submit_delay: number;
  /** Line breaks in a message: kept inside a bracketed paste, or joined into one line. */
  multiline: MultilineMode;
  /**
   * When a submission does not show: press the submit key again this many
   * times (`rescue_key`), waiting `verify_ms` for each, then report
   * `unconfirmed`.
   */
  rescue_key: string;
  rescue_attempts: number;
  verify_ms: number;
  default_policy: DeliveryPolicy;
  /** Screen recognisers; undefined for programs whose screen says nothing (a shell, a readline loop). */
  screen?: ScreenPatterns;
  /** What the network_error handler types to make the CLI try again (`retry_with_backoff`); undefined: the CLI has no such screen. */
  continue_prompt?: string;
  /** Which hook configuration `hooks install` writes for it, if the CLI has hooks. */
  hooks?: 'claude' | 'gemini' | 'codex' | 'qwen';
}

/** What a topology (`profiles:`) may change in a profile, or add as a new one (`extends:` names the base). */
export type ProfileOverride = Partial<Omit<AgentProfile, 'name' | 'screen'>> & { extends?: string; screen?: Partial<ScreenPatterns> };
