/**
 * Makes text safe to paste into a terminal: no byte of it can act as a key
 * or a terminal control. ESC becomes the visible `␛` (so `ESC[201~` cannot end
 * a bracketed paste early and let the rest run as keystrokes), other C0
 * controls become their Unicode control pictures (`^C` → `␃`), DEL becomes
 * `␡`, C1 controls (U+0080–U+009F, which some terminals read as ESC
 * sequences) become `<U+009B>`. Tabs become spaces (a tab outside a bracketed
 * paste triggers completion). CRLF and lone CR become LF; what happens to LF
 * is the renderer's business.
 */
export function sanitizeText(text: string): string {
  let out = '';
  const normalized = text.replace(/\r\n?/g, '\n');
  for (const ch of normalized) {
    const code = ch.codePointAt(0)!;
    if (ch === '\n') out += ch;
    else if (ch === '\t') out += '    ';
    else if (code < 0x20) out += String.fromCodePoint(0x2400 + code);
    else if (code === 0x7f) out += '\u2421';
    else if (code >= 0x80 && code <= 0x9f) out += `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
    else out += ch;
  }
  return out;
}

/** True when text has nothing a terminal would treat as a control (LF aside). */
export function isTerminalSafe(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\x00-\x09\x0b-\x1f\x7f-\x9f]/.test(text);
}
