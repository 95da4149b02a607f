import fs from 'node:fs';
import type { TmuxClient } from './client.js';
import { findPane, listPanes } from './pane-list.js';
import { unlessFsRace } from '../bus/errors.js';

/** What the injector needs to know about a pane before and after typing into it. */
export interface PaneInfo {
  id: string;
  dead: boolean;
  /** copy-mode or another mode that would swallow keys. */
  inMode: boolean;
  currentCommand: string;
  pid: number | undefined;
  cursorX: number;
  cursorY: number;
  /** `@bmad_hold` (ms since the epoch): the supervisor is restoring the agent; nothing else types into it until then. */
  holdUntil: number;
  /** `@bmad_agent`: the agent the pane was made for ('' when untagged). */
  agentTag: string;
  /** The tmux server instance answering (`<pid>:<start_time>`, as server-instance.ts). */
  server: string;
  /** The signal that ended a dead pane's program (9: SIGKILL, as the kernel's OOM killer sends); undefined while alive or after a plain exit. */
  deadSignal: number | undefined;
  /** The exit status of a dead pane's program; undefined while alive, after a signal, or in the moment before tmux reaped it. */
  deadStatus: number | undefined;
}

/** The pane option the supervisor sets while it restarts an agent and pastes its restore prompt. */
export const HOLD_OPTION = '@bmad_hold';
/** The pane option naming the agent a pane belongs to (`up`, the supervisor, `restore` and `agents add --tmux` set it). */
export const AGENT_OPTION = '@bmad_agent';

const SEP = '\u001f';
// The tag and the server instance ride on the read the injector makes before every message anyway: checking a pane's owner costs no round trip.
const INFO_FORMAT = [
  '#{pane_id}', '#{pane_dead}', '#{pane_in_mode}', '#{pane_current_command}', '#{pane_pid}', '#{cursor_x}', '#{cursor_y}', `#{${HOLD_OPTION}}`,
  `#{${AGENT_OPTION}}`, '#{pid}:#{start_time}', '#{pane_dead_signal}', '#{pane_dead_status}',
].join(SEP);

/**
 * Reads a pane's state; undefined when it does not exist. `target` must be a
 * pane id (`%12`): tmux's display-message falls back to another pane for a
 * target it cannot find, so names are resolved to ids first (resolvePaneId).
 */
export async function readPaneInfo(client: TmuxClient, paneId: string): Promise<PaneInfo | undefined> {
  const out = await client.tryCommand(['display-message', '-p', '-t', paneId, INFO_FORMAT]);
  if (out === undefined) return undefined;
  const [id, dead, mode, command, pid, cursorX, cursorY, hold, agentTag, server, deadSignal, deadStatus] = out.split(SEP);
  if (!id || id !== paneId) return undefined;
  return {
    id,
    dead: dead === '1',
    inMode: mode === '1',
    currentCommand: command ?? '',
    pid: pid ? Number(pid) : undefined,
    cursorX: Number(cursorX ?? 0),
    cursorY: Number(cursorY ?? 0),
    holdUntil: Number(hold) || 0,
    agentTag: agentTag ?? '',
    server: server ?? '',
    deadSignal: deadSignal ? Number(deadSignal) : undefined,
    deadStatus: deadStatus ? Number(deadStatus) : undefined,
  };
}

/** Turns a tmux target into a pane id (`%12` as is, else as findPane reads it). */
export async function resolvePaneId(client: TmuxClient, target: string): Promise<string | undefined> {
  if (/^%\d+$/.test(target)) return target;
  const panes = await listPanes((args) => client.tryCommand(args));
  return panes && findPane(panes, target)?.id;
}

/** The pane's whole visible screen, as plain text (what a profile's recognisers read). */
export async function captureScreen(client: TmuxClient, paneId: string): Promise<string | undefined> {
  return client.tryCommand(['capture-pane', '-p', '-t', paneId]);
}

/** The pane's visible rows from `from` to `to` (0 is the top row), as plain text. */
export async function captureRows(client: TmuxClient, paneId: string, from: number, to: number): Promise<string[] | undefined> {
  const out = await client.tryCommand(['capture-pane', '-p', '-t', paneId, '-S', String(from), '-E', String(to)]);
  return out === undefined ? undefined : out.split('\n');
}

const SHELLS = new Set(['sh', 'bash', 'zsh', 'fish', 'dash', 'ksh', 'mksh', 'tcsh', 'csh', 'ash', 'nu', 'elvish', 'xonsh', 'pwsh']);

export function isShell(command: string): boolean {
  return SHELLS.has(command.replace(/^-/, '').split('/').pop() ?? '');
}

/** The program name of a command line: `claude --x` → `claude`, `env A=1 aider` → `aider`. */
export function programOf(commandLine: string): string {
  const words = commandLine.trim().split(/\s+/);
  let i = 0;
  if (words[i] === 'exec') i++;
  if (words[i] === 'env' || words[i]?.endsWith('/env')) {
    i++;
    while (i < words.length && (words[i]!.includes('=') || words[i]!.startsWith('-'))) i++;
  } else {
    while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!)) i++;
  }
  return (words[i] ?? '').split('/').pop() ?? '';
}

/**
 * Why a pane must not be typed into although it is alive: it runs a bare
 * shell while the agent's program was expected (the agent exited and left its
 * shell, or has not started yet). Undefined when typing is fine. A shell
 * running a script or `-c` (a wrapper script like `./run-agent.sh`) is not
 * bare: on Linux the terminal's foreground process is read from /proc.
 */
export function shellMismatch(info: Pick<PaneInfo, 'currentCommand' | 'pid'>, expectedCommand: string | undefined): string | undefined {
  if (!expectedCommand || !isShell(info.currentCommand)) return undefined;
  const expected = programOf(expectedCommand);
  if (isShell(expected)) return undefined;
  const argv = info.pid === undefined ? undefined : foregroundArgv(info.pid);
  if (argv && argv.slice(1).some((arg) => !arg.startsWith('-') || arg === '-c')) return undefined;
  return `pane runs ${info.currentCommand}, expected ${expected || expectedCommand}`;
}

/** The argv of the terminal's foreground process group leader, from /proc (Linux); undefined elsewhere. */
function foregroundArgv(panePid: number): string[] | undefined {
  // A process that exits while we look (ENOENT, ESRCH) has no argv; no /proc at all is the same.
  const stat = unlessFsRace(() => fs.readFileSync(`/proc/${panePid}/stat`, 'utf8'), undefined);
  if (stat === undefined) return undefined;
  // Fields after the parenthesised name: state ppid pgrp session tty_nr tpgid.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const tpgid = Number(fields[5]);
  const pid = tpgid > 0 ? tpgid : panePid;
  const cmdline = unlessFsRace(() => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'), undefined);
  return cmdline?.split('\0').filter((a) => a !== '');
}
