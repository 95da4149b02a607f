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
