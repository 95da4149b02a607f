import stringWidth from 'string-width';

/**
 * Terminal cells: the width text takes on screen, cutting and padding to a
 * width, and removing what must never reach a terminal (escape sequences in
 * task titles or message bodies written by someone else). Widths come from
 * string-width, which knows the Unicode tables (East Asian Width, emoji
 * presentation, combining marks, ZWJ sequences); a hand-made range table got
 * emoji such as ✅ wrong.
 */

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/g;
const ELLIPSIS = '…';

// Cutting by grapheme keeps a base letter with its combining marks and an emoji sequence whole.
const graphemes = new Intl.Segmenter();

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** One line of plain, printable text: escapes and control characters become spaces. */
export function sanitize(text: string): string {
  return text.replace(ANSI, '').replace(CONTROL, ' ');
}

/** Columns `text` takes on screen (ANSI colour codes take none). */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

/** Cuts plain text to at most `width` columns, ending in `…` when something was cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (displayWidth(text) <= width) return text;
  const room = width - displayWidth(ELLIPSIS);
  let out = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const w = displayWidth(segment);
    if (used + w > room) break;
    out += segment;
    used += w;
  }
  return out + ELLIPSIS;
}

/** Plain text cut or padded with spaces to exactly `width` columns. */
export function fit(text: string, width: number): string {
  const cut = truncate(text, width);
  return cut + ' '.repeat(Math.max(0, width - displayWidth(cut)));
}

/** Right-aligned variant of `fit`, for numbers. */
export function fitRight(text: string, width: number): string {
  const cut = truncate(text, width);
  return ' '.repeat(Math.max(0, width - displayWidth(cut))) + cut;
}
