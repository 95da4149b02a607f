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
const ELLIPSIS_WIDTH = 1;

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
  // No code unit takes more than two columns: short text fits unmeasured.
  if (text.length * 2 <= width) return text;
  // Segmenting a 1 MiB body costs ~0.4 s, so measure a window that grows only while it still fits (a long run of zero-width marks).
  for (let limit = 4 * width + 16; ; limit *= 4) {
    const head = text.length > limit ? text.slice(0, limit) : text;
    const cut = cutToWidth(head, width);
    if (cut !== undefined) return cut;
    if (head === text) return text;
  }
}

/** `text` cut to `width` columns with `…`, or undefined when all of it fits. */
function cutToWidth(text: string, width: number): string | undefined {
  const room = width - ELLIPSIS_WIDTH;
  let used = 0;
  let cutAt = 0;
  for (const { segment, index } of graphemes.segment(text)) {
    used += displayWidth(segment);
    if (used > width) return text.slice(0, cutAt) + ELLIPSIS;
    if (used <= room) cutAt = index + segment.length;
  }
  return undefined;
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
