import { TmuxError } from '../bus/errors.js';
import { DEFAULT_TMUX_TIMEOUT_MS, socketArgs, tmuxBinary } from './socket-args.js';

export interface PlainOptions {
  socket?: string | undefined;
  /** Bytes for the command's stdin (`load-buffer -`). */
  input?: string | undefined;
  timeoutMs?: number | undefined;
}

/**
 * Runs one tmux command as its own process (`tmux -L NAME ARGS...`) and
 * returns its stdout. An argv array, never a shell string; a time limit on
 * every call; execa kills the child if this process exits first.
 */
export async function runTmux(args: string[], options: PlainOptions = {}): Promise<string> {
  const argv = [...socketArgs(options.socket), ...args];
  // Loaded at the first tmux command: execa is a tenth of an idle router's memory, and most buses run no pane.
  const { execa } = await import('execa');
  const result = await execa(tmuxBinary(), argv, {
    input: options.input ?? '',
    timeout: options.timeoutMs ?? DEFAULT_TMUX_TIMEOUT_MS,
    reject: false,
    stripFinalNewline: true,
    cleanup: true,
  });
  if (result.failed) {
    const reason = result.timedOut
      ? `timed out after ${options.timeoutMs ?? DEFAULT_TMUX_TIMEOUT_MS} ms`
      : (String(result.stderr ?? '').trim() || result.shortMessage);
    throw new TmuxError(`tmux ${args[0] ?? ''} failed: ${reason}`, { cause: result });
  }
  return String(result.stdout ?? '');
}

/** Like runTmux, but a failure is `undefined` (for probes: has-session, a pane that may be gone). */
export async function tryTmux(args: string[], options: PlainOptions = {}): Promise<string | undefined> {
  try {
    return await runTmux(args, options);
  } catch (error) {
    if (error instanceof TmuxError) return undefined;
    throw error;
  }
}
