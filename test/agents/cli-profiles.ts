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

export const PROFILES: Record<CliName, CliProfile> = {
  claude: { ready: (s) => /^\s*[>❯]\s/m.test(s), submitKey: 'Enter', submitDelayMs: 300 },
  codex: { ready: (s) => /^›\s/m.test(s), submitKey: 'Enter', submitDelayMs: 300 },
  gemini: { ready: (s) => /Type your message/.test(s), submitKey: 'Enter', submitDelayMs: 300 },
  qwen: { ready: (s) => /Type your message/.test(s), submitKey: 'Enter', submitDelayMs: 300 },
  opencode: { ready: (s) => /Ask anything|ctrl\+p/i.test(s), submitKey: 'Enter', submitDelayMs: 300 },
};
