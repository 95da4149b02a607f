import type { Envelope } from '../bus/envelope.js';
import { sanitizeText } from './sanitize.js';

/** The default rendering of a message in a pane: one line. */
export const DEFAULT_TEMPLATE = '[{from} → {to}] {body}';

/**
 * What happens to line breaks. `join` (default): the message becomes one line,
 * each break shown as ` ⏎ `, because line editors disagree about newlines in a
 * paste (bash `read -e` keeps only the first line, Python's input() submits
 * each line separately). `keep`: real newlines, for agents whose input box
 * takes a multi-line bracketed paste (Claude Code, Codex).
 */
export type MultilineMode = 'join' | 'keep';
export const MULTILINE_MODES: readonly MultilineMode[] = ['join', 'keep'];
export const LINE_BREAK_MARK = ' ⏎ ';

const PLACEHOLDER = /\{(from|to|body|id|type|ts|thread|reply_to)\}/g;

/** A body as text: strings as they are, anything else as compact JSON. */
export function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body === undefined) return '';
  return JSON.stringify(body) ?? String(body);
}

/**
 * Renders a message for a pane: fills the template (`{from}`, `{to}`, `{body}`,
 * `{id}`, `{type}`, `{ts}`, `{thread}`, `{reply_to}`), neutralises control
 * characters, and applies the line-break rule. The result is what is pasted,
 * and never ends with a line break (the submit key ends it).
 */
export function renderMessage(envelope: Envelope, template = DEFAULT_TEMPLATE, multiline: MultilineMode = 'join'): string {
  const values: Record<string, string> = {
    from: envelope.from,
    to: envelope.to,
    body: bodyText(envelope.body),
    id: envelope.id,
    type: envelope.type,
    ts: envelope.ts,
    thread: envelope.thread ?? '',
    reply_to: envelope.reply_to ?? '',
  };
  // One pass, so a body containing `{id}` is not expanded again.
  const filled = template.replace(PLACEHOLDER, (_match, key: string) => values[key] ?? '');
  const safe = sanitizeText(filled).replace(/\n+$/, '');
  return multiline === 'keep' ? safe : safe.split('\n').join(LINE_BREAK_MARK);
}
