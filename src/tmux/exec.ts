import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TimeoutError, TmuxError, UsageError } from '../bus/errors.js';
import { formatSeconds } from '../bus/human-format.js';
import type { TmuxClient } from './client.js';
import { isShell, readPaneInfo } from './pane-info.js';

/**
 * Runs a shell command line in a pane that runs a POSIX shell and returns its
 * output and exit status. The command is wrapped between two markers the
 * shell prints, pasted as one named buffer (never `send-keys` with text, where
 * `C-c` would be a key) and submitted with Enter; the pane is then polled
 * with `capture-pane -J` until the end marker shows.
 *
 * The markers are printed with `printf 'BMADX-S-%s\n' NONCE`, so the echo of
 * the typed line never contains a marker itself — only the shell's output does.
 */

export interface ExecOptions {
  /** Give up waiting after this long (the command keeps running in the pane). Default 30 s. */
  timeoutMs?: number;
  /** Press C-c in the pane when the time is up. */
  interruptOnTimeout?: boolean;
  /** First poll interval; it grows to 200 ms. */
  pollMs?: number;
  /** For messages: whose pane this is. */
  label?: string;
}

export interface ExecResult {
  pane: string;
  command: string;
  /** What the command printed (stdout and stderr as the terminal showed them), without the final newline. */
  output: string;
  exitCode: number;
  durationMs: number;
  /** True when the start marker had scrolled out of the pane's history: the output's head is missing. */
  truncated: boolean;
}

export const DEFAULT_EXEC_TIMEOUT_MS = 30_000;
const HISTORY_LIMIT_ARGS = ['-S', '-', '-E', '-'];

/**
 * The text pasted into the shell for `command` with markers for `nonce`. The
 * command runs in a subshell, so an `exit` in it (or `set -e`, `exec`...)
 * ends the subshell with its status, never the pane's shell; `cd` and
 * variables do not outlive one exec either.
 */
export function wrapCommand(command: string, nonce: string): string {
  // The closing parenthesis on its own line: a trailing `# comment` or `&` in the command stays harmless.
  return `printf 'BMADX-S-%s\\n' ${nonce}; ( ${command}\n) ; printf '\\nBMADX-E-%s-%s\\n' ${nonce} "$?"`;
}

export interface ParsedCapture {
  output: string;
  exitCode: number;
  truncated: boolean;
}

/**
 * Finds the command's output in a capture of the pane: the lines between the
 * start marker and the end marker. Undefined while the end marker is not there.
 */
export function parseCapture(text: string, nonce: string): ParsedCapture | undefined {
  const lines = text.split('\n').map((l) => l.replace(/\s+$/, ''));
  const endRe = new RegExp(`^BMADX-E-${nonce}-(\\d+)$`);
  let end = -1;
  let exitCode = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = endRe.exec(lines[i]!);
    if (match) {
      end = i;
      exitCode = Number(match[1]);
      break;
    }
  }
  if (end < 0) return undefined;
  const start = lines.lastIndexOf(`BMADX-S-${nonce}`, end);
  const body = lines.slice(start + 1, end);
  // The end marker is printed after a newline of its own: drop the one blank line it adds.
  if (body.length > 0 && body[body.length - 1] === '') body.pop();
  return { output: body.join('\n'), exitCode, truncated: start < 0 };
}

/** Serialises execs per pane within this process: two commands typed into one shell at once would interleave. */
const paneQueues = new Map<string, Promise<unknown>>();

/**
 * Runs `command` in the shell of pane `paneId` (a `%id`).
 *
 * @example
 * const result = await execInPane(client, '%3', 'make test', { timeoutMs: 120_000 });
 * process.exitCode = result.exitCode;
 */
export async function execInPane(client: TmuxClient, paneId: string, command: string, options: ExecOptions = {}): Promise<ExecResult> {
  const previous = paneQueues.get(paneId) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => execNow(client, paneId, command, options));
  paneQueues.set(paneId, run);
  try {
    return await run;
  } finally {
    if (paneQueues.get(paneId) === run) paneQueues.delete(paneId);
  }
}

async function execNow(client: TmuxClient, paneId: string, command: string, options: ExecOptions): Promise<ExecResult> {
  if (command.trim() === '') throw new UsageError('Nothing to run: the command is empty');
  const who = options.label ? `${options.label} (${paneId})` : paneId;
  let info = await readPaneInfo(client, paneId);
  if (!info || info.dead) throw new TmuxError(`The pane of ${who} is dead or gone`);
  if (info.inMode) {
    // copy-mode would swallow the paste.
    await client.tryCommand(['send-keys', '-X', '-t', paneId, 'cancel']);
    info = await readPaneInfo(client, paneId);
    if (!info || info.dead) throw new TmuxError(`The pane of ${who} is dead or gone`);
  }
  if (!isShell(info.currentCommand)) {
    throw new UsageError(`The pane of ${who} runs \`${info.currentCommand}\`, not a shell at its prompt: exec needs a shell pane (sh, bash, zsh...)`);
  }
  const nonce = crypto.randomBytes(6).toString('hex');
  const buffer = `bmad-bus-exec-${process.pid}-${nonce}`;
  const started = Date.now();
  try {
    await client.setBuffer(buffer, wrapCommand(command, nonce));
    await client.pasteBuffer(buffer, paneId);
  } catch (error) {
    await client.tryCommand(['delete-buffer', '-b', buffer]);
    throw new TmuxError(`Could not type into the pane of ${who}: ${(error as Error).message}`, { cause: error });
  }
  await client.command(['send-keys', '-t', paneId, 'Enter']);

  const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  const deadline = started + timeoutMs;
  let pause = options.pollMs ?? 20;
  for (;;) {
    // Cheap polls of the bottom of the pane; the whole history only once the end marker shows.
    const recent = await client.tryCommand(['capture-pane', '-p', '-J', '-t', paneId, '-S', '-40']);
    if (recent === undefined) throw new TmuxError(`The pane of ${who} went away while \`${command}\` ran`);
    if (recent.includes(`BMADX-E-${nonce}-`)) {
      const full = await client.command(['capture-pane', '-p', '-J', '-t', paneId, ...HISTORY_LIMIT_ARGS]);
      const parsed = parseCapture(full, nonce) ?? parseCapture(recent, nonce);
      if (parsed) return { pane: paneId, command, ...parsed, durationMs: Date.now() - started };
    }
    const now = await readPaneInfo(client, paneId);
    if (!now || now.dead) throw new TmuxError(`The pane of ${who} died while \`${command}\` ran`);
    if (Date.now() >= deadline) {
      if (options.interruptOnTimeout) await client.tryCommand(['send-keys', '-t', paneId, 'C-c']);
      throw new TimeoutError(
        `\`${command}\` in ${who} did not finish within ${formatSeconds(timeoutMs)}` +
          (options.interruptOnTimeout ? ' (interrupted with C-c)' : ' (it is still running there; --interrupt sends C-c on time-out)'),
      );
    }
    await sleep(Math.min(pause, Math.max(1, deadline - Date.now())));
    pause = Math.min(pause * 2, 200);
  }
}
