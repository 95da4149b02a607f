import type { AgentProfile, ScreenPatterns } from './profile-types.js';

/** What one screen of an agent CLI says, read by its profile's patterns. */
export interface ScreenReading {
  /** `unknown`: no input box and nothing recognised (starting, or a screen the profile does not know). */
  state: 'idle' | 'busy' | 'waiting_input' | 'rate_limited' | 'compacting' | 'unknown';
  /** The text in the input box ('' when empty or showing its placeholder); undefined when no input row was found. */
  input: string | undefined;
  /** Rows above the input box (the whole screen when there is none): where submitted messages show. */
  transcript: string[];
}

/** Rows at the bottom of the screen where a CLI shows its state (spinner, prompt, dialog); older rows are history. */
const STATE_ROWS = 12;

interface Compiled {
  input: RegExp;
  anchor: RegExp | undefined;
  placeholder: RegExp[];
  busy: RegExp[];
  waiting_input: RegExp[];
  rate_limited: RegExp[];
  compacting: RegExp[];
  /** Every collapsed-paste marker at once, global: to count them in a transcript. */
  pastedAll: RegExp;
}

const compiledCache = new WeakMap<ScreenPatterns, Compiled>();

function compile(screen: ScreenPatterns): Compiled {
  let c = compiledCache.get(screen);
  if (!c) {
    const list = (sources: string[]) => sources.map((s) => new RegExp(s, 'iu'));
    c = {
      input: new RegExp(screen.input, 'iu'),
      anchor: screen.input_anchor ? new RegExp(screen.input_anchor, 'iu') : undefined,
      placeholder: list(screen.placeholder),
      busy: list(screen.busy),
      waiting_input: list(screen.waiting_input),
      rate_limited: list(screen.rate_limited),
      compacting: list(screen.compacting),
      pastedAll: new RegExp(screen.pasted.join('|') || '(?!)', 'giu'),
    };
    compiledCache.set(screen, c);
  }
  return c;
}

/**
 * Reads a captured screen (`capture-pane -p`, plain text) by a profile. A
 * dialog is looked for first: while one is up, the CLI is waiting for its
 * human whatever else the screen shows. Only the bottom rows count for the
 * state, so a rate-limit message long scrolled into history does not.
 */
export function readScreen(profile: AgentProfile, screenText: string): ScreenReading {
  const rows = screenText.replace(/\s+$/, '').split('\n');
  if (!profile.screen) return { state: 'unknown', input: undefined, transcript: rows };
  const c = compile(profile.screen);
  const box = findInput(c, rows);
  const inputRow = box?.row;
  // The input box holds what someone is typing: never a state, whatever it says.
  const recent = rows.slice(Math.max(0, (inputRow ?? rows.length) - STATE_ROWS)).filter((_, i, all) => {
    const at = rows.length - all.length + i;
    return box === undefined || at < box.row || at > box.end;
  });
  const seen = (patterns: RegExp[]) => recent.some((row) => patterns.some((p) => p.test(row)));
  const input = box?.text;
  const transcript = inputRow === undefined ? rows : rows.slice(0, inputRow);
  const state = seen(c.waiting_input) ? 'waiting_input'
    : seen(c.rate_limited) ? 'rate_limited'
    : seen(c.compacting) ? 'compacting'
    : seen(c.busy) ? 'busy'
    : inputRow !== undefined ? 'idle'
    : 'unknown';
  return { state, input, transcript };
}

/** The input box among the bottom rows: its first and last row, and its text ('' when empty or showing the placeholder). */
function findInput(c: Compiled, rows: string[]): { row: number; end: number; text: string } | undefined {
  const low = Math.max(0, rows.length - STATE_ROWS);
  const textOf = (row: string): string => {
    // Zero-width characters some CLIs draw after the cursor are not input.
    const text = (c.input.exec(row)?.[1] ?? '').replace(/[\u200b-\u200d\ufeff]/g, '').trim();
    return c.placeholder.some((p) => p.test(text)) ? '' : text;
  };
  if (c.anchor) {
    // A box with a status row may sit mid-screen (opencode centres it while the session is empty): look everywhere.
    for (let a = rows.length - 1; a >= 0; a--) {
      if (!c.anchor.test(rows[a]!)) continue;
      let top = a;
      while (top > Math.max(0, a - 4) && c.input.test(rows[top - 1]!) && !c.anchor.test(rows[top - 1]!)) top--;
      if (top === a) return undefined;
      return { row: top, end: a - 1, text: rows.slice(top, a).map(textOf).filter(Boolean).join(' ') };
    }
    return undefined;
  }
  for (let i = rows.length - 1; i >= low; i--) if (c.input.test(rows[i]!)) return { row: i, end: i, text: textOf(rows[i]!) };
  return undefined;
}

/**
 * Whether the transcript shows the message: more copies of its first 40
 * characters than `before` had (whitespace and the box borders some CLIs
 * draw on every row are left out, so a line wrapped anywhere still reads
 * whole), or a collapsed-paste marker that `before` did not have.
 */
export function transcriptShows(profile: AgentProfile, reading: ScreenReading, text: string, before?: ScreenReading): boolean {
  const needle = snippetOf(text);
  if (needle) {
    // A screen without an input box found (a long paste pushed it up) has no transcript to compare with.
    const copies = (r: ScreenReading | undefined) => (r && r.input !== undefined ? occurrences(solid(r.transcript), needle) : 0);
    if (copies(reading) > copies(before)) return true;
  }
  if (!profile.screen) return false;
  const flat = (rows: string[]) => rows.join(' ').replace(/\s+/g, ' ');
  const { pastedAll } = compile(profile.screen);
  const markers = (r: ScreenReading | undefined) => (r ? flat(r.transcript).match(pastedAll) ?? [] : []);
  return markers(reading).length > markers(before).length;
}

/** Rows as one run of text: no borders (`│ … │`, `┃ …`), no whitespace. */
function solid(rows: string[]): string {
  return rows.map((row) => row.replace(/^\s*[│┃|]/, '').replace(/[│┃|]\s*$/, '')).join('').replace(/\s+/g, '');
}

/** The first 40 characters of the message that are not whitespace: what a screen shows of it, however wrapped. */
function snippetOf(text: string): string {
  return text.replace(/\s+/g, '').slice(0, 40);
}

function occurrences(haystack: string, needle: string): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length)) count++;
  return count;
}
