import type { AgentProfile } from './profile-types.js';

/**
 * The network_error recogniser: a pure function from a captured screen to
 * "the CLI gave up on an API or network error" (and, for a rate-limit or
 * usage-limit line that names one, when the limit resets). The error counts
 * only while it is the CLI's latest word: a user turn (an input row) after
 * it, or a busy spinner, means the CLI went on.
 */
export interface NetworkFailure {
  /** The error row as the screen shows it. */
  line: string;
  /** Its position from the bottom, in rows with text (0: the last one). */
  fromBottom: number;
  /** When a limit named on the error's rows resets (ms since the epoch), if it names one. */
  resetAt?: number;
}

/** How far up the error may be, in rows with text (a fresh session's transcript sits at the top, blank rows below it): its text, a wrapped line or two, a rule, the input box, the footer. */
const LOOK_ROWS = 24;

interface Compiled {
  errors: RegExp[];
  reset: RegExp[];
  input: RegExp;
  busy: RegExp[];
}

const cache = new WeakMap<object, Compiled>();

function compile(profile: AgentProfile): Compiled | undefined {
  const screen = profile.screen;
  if (!screen || screen.network_error.length === 0) return undefined;
  let c = cache.get(screen);
  if (!c) {
    const list = (sources: string[]) => sources.map((s) => new RegExp(s, 'iu'));
    c = { errors: list(screen.network_error), reset: list(screen.reset_time), input: new RegExp(screen.input, 'iu'), busy: list(screen.busy) };
    cache.set(screen, c);
  }
  return c;
}

export function readNetworkFailure(profile: AgentProfile, screenText: string, now: Date = new Date()): NetworkFailure | undefined {
  const c = compile(profile);
  if (!c) return undefined;
  const rows = screenText.replace(/\s+$/, '').split('\n').filter((row) => row.trim() !== '');
  const low = Math.max(0, rows.length - LOOK_ROWS);
  for (let i = rows.length - 1; i >= low; i--) {
    const row = rows[i]!;
    if (c.busy.some((p) => p.test(row))) return undefined;
    if (!c.errors.some((p) => p.test(row))) continue;
    // Rows below the error: one input row is the CLI's empty box (with its placeholder); a second is a user turn after it.
    const inputs = rows.slice(i + 1).filter((r) => c.input.test(r)).length;
    if (inputs > 1) return undefined;
    // The error line may wrap: the reset time can be on its next rows, up to the next rule or input row.
    const block = [row];
    for (let j = i + 1; j < rows.length && block.length < 4 && !c.input.test(rows[j]!) && !/^[\s─━═-]*$/.test(rows[j]!); j++) block.push(rows[j]!);
    const resetAt = resetTimeOf(c.reset, block.join(' '), now);
    return { line: row.trim(), fromBottom: rows.length - 1 - i, ...(resetAt !== undefined ? { resetAt } : {}) };
  }
  return undefined;
}

/**
 * The next moment a clock time (`3pm`, `3:15pm`, `15:15`) in `text` comes
 * round after `now`: in UTC when the text says `UTC`, else local time.
 */
export function resetTimeOf(patterns: RegExp[], text: string, now: Date): number | undefined {
  for (const pattern of patterns) {
    const match = pattern.exec(text)?.[1];
    if (!match) continue;
    const parsed = /^(\d{1,2})(?::(\d{2}))?\s*([ap]m)?$/i.exec(match.trim());
    if (!parsed) continue;
    let hour = Number(parsed[1]);
    const minute = Number(parsed[2] ?? 0);
    const half = parsed[3]?.toLowerCase();
    if (half === 'pm' && hour < 12) hour += 12;
    if (half === 'am' && hour === 12) hour = 0;
    if (hour > 23 || minute > 59 || (!half && parsed[2] === undefined)) continue;
    const utc = /\bUTC\b/.test(text);
    const at = new Date(now);
    if (utc) at.setUTCHours(hour, minute, 0, 0);
    else at.setHours(hour, minute, 0, 0);
    if (at.getTime() <= now.getTime()) at.setTime(at.getTime() + 24 * 60 * 60_000);
    return at.getTime();
  }
  return undefined;
}
