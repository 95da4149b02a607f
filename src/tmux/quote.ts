/**
 * Quotes one argument for tmux's command parser, which reads the lines a
 * control-mode client sends. Inside double quotes tmux expands `$VAR`, `~`
 * and backslash escapes, so those are escaped; control characters become
 * octal escapes so one command always stays on one line.
 */
export function quoteTmuxArg(arg: string): string {
  let out = '"';
  for (const ch of arg) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\' || ch === '"' || ch === '$' || ch === '~') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (code < 0x20 || code === 0x7f) out += `\\${code.toString(8).padStart(3, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** A whole command line for a control-mode client. */
export function tmuxCommandLine(args: string[]): string {
  return args.map(quoteTmuxArg).join(' ');
}

/** Words a POSIX shell reads as themselves, left bare so a command line stays readable. */
const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one word for a POSIX shell (sh, bash, zsh...): single quotes, `'` as `'\''`. */
export function quoteShellWord(word: string): string {
  if (SHELL_SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** An argv as one shell command line that runs exactly those words. */
export function shellCommandLine(words: readonly string[]): string {
  return words.map(quoteShellWord).join(' ');
}
