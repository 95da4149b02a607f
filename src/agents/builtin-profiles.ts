import type { AgentProfile, ScreenPatterns } from './profile-types.js';

/**
 * The profiles bmad-bus ships, one per agent CLI it is tested against, plus
 * `readline` (a line-editing program: what bmad-bus did before profiles) and
 * `shell`. Screen patterns come from captured screens of each CLI version
 * (test/agents/screens/); when a CLI changes its screen, a topology's
 * `profiles:` can override any of them until a new release ships new ones.
 *
 * The submit delays are measured (DESIGN.md): with 0-40 ms Gemini CLI turns
 * the Enter into a newline, Codex reorders, Claude Code glues messages; with
 * 300 ms all five took every message.
 */

/**
 * Reset times in rate-limit lines: Claude Code's `resets 3pm (UTC)`, `resets 3:15pm`, `reset at 15:15`,
 * `try again at 3:15 PM`.
 */
const RESET_TIME = ['\\bresets?(?: at)?\\s+(\\d{1,2}(?::\\d{2})?\\s*(?:[ap]m)?)\\b', '\\btry again at\\s+(\\d{1,2}(?::\\d{2})?\\s*(?:[ap]m)?)\\b'];

/** Rate-limit and usage-limit wording the CLIs share. */
/*
 * Every pattern below is anchored where the CLI draws it (the start of a row,
 * after its glyph or box border), because the transcript shows the users' own
 * prompts too: a message that mentions "rate limit", "429" or "approval" must
 * not make the agent look rate-limited or asking. A CLI that gave up
 * (Codex's "Exceeded retry limit") is not rate-limited: it waits for input.
 */
const ROW = '^\\s*(?:[│┃|]\\s*)?';

const CLAUDE_SCREEN: ScreenPatterns = {
  input: '^\\s*[│|]?\\s*[>❯]\\s?(.*?)\\s*[│|]?\\s*$',
  // After an API error it gives up on, the empty box says `Resend your message to try again`.
  placeholder: ['^Try "[^"]*"$', '^Resend your message to try again$'],
  busy: ['(^|·|\\()\\s*esc to interrupt', '^\\s*[✻✶✳✢✽·*]\\s+\\S+…'],
  waiting_input: [
    `${ROW}do you want to (proceed|make this edit|create|allow)`, '^\\s*❯\\s*1\\.\\s*yes',
    // A modal: its keys line (`Enter to stay in auto mode · … · Esc to cancel`).
    '^\\s*enter to (confirm|select|stay|continue).*·\\s*esc to cancel\\s*$', '^\\s*enter to (confirm|select|stay|continue)',
  ],
  rate_limited: ['^\\s*[✻✶✳✢✽·*]?\\s*api error · retrying in \\d+', `${ROW}[⎿●]?\\s*(claude )?(ai )?usage limit reached`, `${ROW}[⎿●]?\\s*\\S+ limit reached\\s*[·∙|]\\s*resets`],
  compacting: ['compacting conversation'],
  pasted: ['\\[Pasted text #\\d+(?: \\+\\d+ lines)?\\]'],
  // After its own retries (CLAUDE_CODE_MAX_RETRIES, 10 by default) it prints one of these and waits.
  network_error: ['^\\s*[●⎿]\\s*API Error\\b', '^\\s*[●⎿]\\s*(Request timed out|Connection error|Unable to connect to API)', "^\\s*[●⎿]\\s*You've hit your (usage )?limit"],
  reset_time: RESET_TIME,
};

const CODEX_SCREEN: ScreenPatterns = {
  input: '^\\s*[›>]\\s?(.*?)\\s*$',
  placeholder: ['^Ask Codex to do anything$', '^Find and fix a bug in @filename$', '^(Explain|Summarize|Write|Implement|Improve|Run)\\b.*$'],
  busy: ['^\\s*•\\s*(Working|Server is busy).*esc to interrupt', '^\\s*•\\s*Working'],
  waiting_input: ['^\\s*would you like to (run|make|apply)', '^\\s*[›>]\\s*1\\.\\s*yes', '^\\s*press enter to confirm or esc to cancel'],
  rate_limited: ['^\\s*•\\s*server is busy, reconnecting', '^\\s*■?\\s*you.ve hit your usage limit'],
  compacting: ['compacting', 'context (window )?compact'],
  pasted: ['\\[Pasted Content \\d+ chars\\]'],
  network_error: ['^\\s*■\\s*(exceeded retry limit|stream (error|disconnected))', '^\\s*■\\s*.*\\b(5\\d\\d|429)\\b'],
  reset_time: RESET_TIME,
};

const GEMINI_SCREEN: ScreenPatterns = {
  input: '^\\s*│?\\s*[>*!]\\s+(.*?)\\s*│?\\s*$',
  placeholder: ['^Type your message or @path/to/file$'],
  busy: ['^\\s*[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏].*\\(esc to cancel', '^\\s*[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]'],
  waiting_input: [
    `${ROW}allow execution`, `${ROW}apply this change\\?`, `${ROW}do you want to proceed\\?`, '^\\s*[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]?\\s*waiting for user confirmation', `${ROW}[●›]\\s*1\\.\\s*(yes|allow)`,
  ],
  rate_limited: [
    `${ROW}(usage limit reached|quota exceeded|rate limit (exceeded|reached))`, '^\\s*✕\\s*\\[api error: 429', '^\\s*↻\\s*retrying in \\d+',
  ],
  compacting: ['compress(ing)? (chat|context|history)'],
  pasted: ['\\[Pasted Text: \\d+ (chars|lines)\\]'],
  // Not while it says it is retrying by itself (Qwen Code's `(Retrying in 59s…`).
  network_error: ['^\\s*✕\\s*\\[API Error(?!.*retrying)'],
  reset_time: RESET_TIME,
};

/** Qwen Code draws Gemini CLI's screen, with its own collapsed-paste marker. */
const QWEN_SCREEN: ScreenPatterns = { ...GEMINI_SCREEN, pasted: [...GEMINI_SCREEN.pasted, '\\[Pasted Content \\d+ chars\\]'] };

const OPENCODE_SCREEN: ScreenPatterns = {
  input: '^\\s*┃\\s*(.*?)\\s*$',
  input_anchor: '^\\s*┃\\s+\\S+ · ',
  placeholder: ['^Ask anything…?.*$', '^Type a message.*$'],
  busy: ['^\\s*[⬝■]+\\s+.*esc (to )?interrupt'],
  waiting_input: ['^\\s*┃\\s*△\\s*permission required', '^\\s*┃\\s*allow once\\s+allow always'],
  rate_limited: ['^\\s*[⬝■]+\\s+.*\\[retrying attempt #\\d+\\]'],
  compacting: ['compacting', 'summariz(e|ing) session'],
  pasted: ['\\[Pasted (text|content)[^\\]]*\\]', '\\[pasted ~?\\d+ lines\\]'],
  network_error: [],
  reset_time: RESET_TIME,
};

const AI_DEFAULTS = {
  ai: true,
  submit_key: 'Enter',
  submit_delay: 300,
  multiline: 'keep',
  rescue_key: 'Enter',
  rescue_attempts: 2,
  verify_ms: 1500,
  default_policy: 'when-idle',
  continue_prompt: 'continue',
} as const;

export const BUILTIN_PROFILES: readonly AgentProfile[] = [
  { name: 'claude', description: 'Claude Code (Anthropic)', programs: ['claude', 'claude-code'], ...AI_DEFAULTS, screen: CLAUDE_SCREEN, hooks: 'claude' },
  { name: 'codex', description: 'Codex CLI (OpenAI)', programs: ['codex'], ...AI_DEFAULTS, screen: CODEX_SCREEN, hooks: 'codex' },
  { name: 'gemini', description: 'Gemini CLI (Google)', programs: ['gemini', 'gemini-cli'], ...AI_DEFAULTS, screen: GEMINI_SCREEN, hooks: 'gemini' },
  { name: 'qwen', description: 'Qwen Code (a Gemini CLI fork)', programs: ['qwen', 'qwen-code'], ...AI_DEFAULTS, screen: QWEN_SCREEN, hooks: 'qwen' },
  { name: 'opencode', description: 'opencode (sst)', programs: ['opencode', 'opencode-ai'], ...AI_DEFAULTS, screen: OPENCODE_SCREEN },
  {
    name: 'readline', description: 'A line-editing program (one line per message, submitted with Enter)', programs: [],
    ai: false, submit_key: 'Enter', submit_delay: 40, multiline: 'join', rescue_key: 'Enter', rescue_attempts: 2, verify_ms: 400, default_policy: 'immediate',
  },
  {
    name: 'shell', description: 'An interactive shell (each message is a command line)', programs: ['sh', 'bash', 'zsh', 'fish', 'dash', 'ksh'],
    ai: false, submit_key: 'Enter', submit_delay: 40, multiline: 'join', rescue_key: 'Enter', rescue_attempts: 2, verify_ms: 400, default_policy: 'immediate',
  },
];
