// What the tests need to know of each CLI's terminal UI: when its input box is ready, which key
// submits, and how long to wait after a paste before pressing it. Measured; see README.md.
import type { CliName } from './agents-cache.js';

export interface CliProfile {
  /** True when the screen shows the CLI's (empty or not) input box, ready for typing. */
  ready(screen: string): boolean;
  /** A tmux key name. */
  submitKey: string;
  submitDelayMs: number;
}

// Each rule looks for the empty input box of a fresh start: the CLI's placeholder text or prompt
// glyph together with a footer line that dialogs (trust, permission) do not show.
export const PROFILES: Record<CliName, CliProfile> = {
  // `❯` and a no-break space right under a full-width rule; the trust dialog's `❯ 1. Yes` has no rule above it.
  claude: { ready: (s) => /─{20,}\n❯(?:\s|$)/.test(s), submitKey: 'Enter', submitDelayMs: 300 },
  // `› Ask Codex to do anything`; the approval list `› 1. Yes` comes without the `? for shortcuts` footer.
  codex: { ready: (s) => /^› /m.test(s) && /\? for shortcuts/.test(s), submitKey: 'Enter', submitDelayMs: 300 },
  // The box is drawn ~1.5 s before the banner; an Enter in between is lost, so wait for both.
  gemini: { ready: (s) => /^ >\s+Type your message/m.test(s) && /Gemini CLI v/.test(s), submitKey: 'Enter', submitDelayMs: 300 },
  qwen: { ready: (s) => /^>\s+Type your message/m.test(s), submitKey: 'Enter', submitDelayMs: 300 },
  opencode: { ready: (s) => /Ask anything/.test(s) && /ctrl\+p commands/.test(s), submitKey: 'Enter', submitDelayMs: 300 },
};
