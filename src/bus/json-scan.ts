/**
 * A scan over the text of a JSON object that `JSON.parse` has already
 * accepted: how deep it nests, and where each top-level value's text lies.
 * The router journals bodies exactly as written (`1e999999`, a 33-digit
 * integer, `-0`, lone-surrogate escapes would all change if parsed and
 * re-serialised), so it copies a value's text rather than its parsed form.
 * Iterative on purpose: no input, however deep, can exhaust the stack.
 */

/** Nesting deeper than this is refused (`too_deep`): readers that recurse (JSON.stringify, renderers) would overflow. */
export const MAX_JSON_DEPTH = 512;

/** The deepest nesting of arrays and objects in `text` (valid JSON). */
export function jsonDepth(text: string): number {
  // A text of n characters nests at most n/2 deep: short lines need no scan.
  if (text.length < 2 * MAX_JSON_DEPTH) return 0;
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) i = stringEnd(text, i);
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** The text of each top-level member's value of a JSON object (the last one wins, as in JSON.parse). */
export function topLevelValues(text: string): Map<string, string> {
  const values = new Map<string, string>();
  let i = text.indexOf('{') + 1;
  for (;;) {
    i = skipSpace(text, i);
    if (text.charCodeAt(i) !== 0x22) return values; // `}`: the end
    const keyEnd = stringEnd(text, i);
    const keyText = text.slice(i, keyEnd + 1);
    const key = keyText.includes('\\') ? (JSON.parse(keyText) as string) : keyText.slice(1, -1);
    i = skipSpace(text, keyEnd + 1) + 1; // past the colon
    const start = skipSpace(text, i);
    const end = valueEnd(text, start);
    values.set(key, text.slice(start, end).trimEnd());
    i = skipSpace(text, end);
    if (text.charCodeAt(i) === 0x2c) i++;
  }
}

/** Index of the closing quote of the string whose opening quote is at `start`. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i;
  }
  return text.length;
}

/** Index just past the value that starts at `start` (a comma or closing brace of the object follows). */
function valueEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) i = stringEnd(text, i);
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return i;
      depth--;
    } else if (c === 0x2c && depth === 0) return i;
  }
  return text.length;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    i++;
  }
  return i;
}

/**
 * JSON.parse for text that may legitimately be broken: a torn last line of a
 * log, a line cut where a read started mid-file. Undefined instead of a throw.
 */
export function parseJsonOrUndefined<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined; // the one place a broken line is expected and dropped
  }
}
