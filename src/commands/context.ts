import type { Command } from 'commander';
import { resolveRoot } from '../bus/layout.js';

/** Options every command inherits from the program (`--dir`, `--tmux-socket`). */
export interface GlobalOptions {
  dir?: string;
  tmuxSocket?: string;
}

/** The global options as seen from a command's action (commander passes the command last). */
export function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

export function rootOf(options: GlobalOptions): string {
  return resolveRoot(options.dir);
}

/** The tmux socket to talk to: `--tmux-socket`, else `$BMAD_TMUX_SOCKET`, else the user's default server. */
export function tmuxSocketOf(options: GlobalOptions): string | undefined {
  return options.tmuxSocket ?? (process.env.BMAD_TMUX_SOCKET || undefined);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/** Colour on a TTY unless NO_COLOR is set. */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb';
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
