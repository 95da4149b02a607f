import { setTimeout as sleep } from 'node:timers/promises';
import { readStat, scanProcesses, type ProcStat } from '../bus/proc-scan.js';

/**
 * Ending everything an agent's pane started. tmux's `respawn-pane -k` and
 * `kill-session` only hang up the pane's terminal: programs that ignore
 * SIGHUP or left the terminal (Gemini CLI's node workers, Codex's detached
 * `app-server` daemon) live on. So the pane's processes are found in /proc —
 * its session and process group (a pgid or sid stays reserved by the kernel
 * while any member lives, so they cannot name someone else's processes) and
 * every descendant of those, a `setsid` child included — and ended by pid:
 * SIGTERM, then SIGKILL for what is still there after a grace period.
 */

/** What finding and ending a pane's processes needs of each (proc-scan.ts reads it). */
export type Proc = Pick<ProcStat, 'pid' | 'ppid' | 'pgid' | 'sid' | 'startTicks'>;

/** A pane's program as tmux reports it: `#{pane_pid}` (the pane's session leader) and `#{pane_dead}`. */
export interface PaneProcess {
  pid: number;
  dead: boolean;
}

/**
 * The processes of the given panes: each pane's session and process group and
 * all their descendants. A live pane counts through its leader. For a dead
 * pane only the members of its group or session still alive count, and none
 * when a process has the leader's pid again (then it is someone else's: the
 * kernel frees the pid only once the group and session are empty).
 */
export function paneProcesses(panes: readonly PaneProcess[], processes: readonly Proc[] = scanProcesses()): Proc[] {
  const pids = new Set(processes.map((p) => p.pid));
  const roots = new Set(panes.filter((p) => p.pid > 1 && p.pid !== process.pid && !(p.dead && pids.has(p.pid))).map((p) => p.pid));
  const children = new Map<number, Proc[]>();
  for (const p of processes) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const found = new Map<number, Proc>();
  const queue = processes.filter((p) => roots.has(p.pid) || roots.has(p.pgid) || roots.has(p.sid));
  while (queue.length > 0) {
    const p = queue.shift()!;
    // Never this process (a `down` run from inside a pane) nor init.
    if (found.has(p.pid) || p.pid === process.pid || p.pid <= 1) continue;
    found.set(p.pid, p);
    queue.push(...(children.get(p.pid) ?? []));
  }
  return [...found.values()];
}

/** Sends `signal` to each process that is still the same process (pid and start time); returns those signalled. */
function signalAll(targets: readonly Proc[], signal: NodeJS.Signals): Proc[] {
  const alive: Proc[] = [];
  for (const p of targets) {
    if (!sameProcess(p)) continue;
    try {
      process.kill(p.pid, signal);
      alive.push(p);
    } catch {
      // gone meanwhile, or not ours (EPERM): nothing to do
    }
  }
  return alive;
}

function sameProcess(p: Proc): boolean {
  const stat = readStat(p.pid);
  return stat !== undefined && stat.startTicks === p.startTicks && stat.state !== 'Z';
}

export interface EndResult {
  /** Processes that got SIGTERM. */
  terminated: number[];
  /** Of those, the ones still there after the grace period, which got SIGKILL. */
  killed: number[];
}

/**
 * Ends every process of the given panes: SIGTERM now, SIGKILL after
 * `graceMs` for the ones still running. Call it before `respawn-pane -k` or
 * `kill-session`, while the pane's leader still ties its descendants to it.
 */
export async function endPaneProcesses(panes: readonly PaneProcess[], options: { graceMs?: number } = {}): Promise<EndResult> {
  if (panes.length === 0) return { terminated: [], killed: [] };
  const targets = paneProcesses(panes);
  const terminated = signalAll(targets, 'SIGTERM').map((p) => p.pid);
  if (terminated.length === 0) return { terminated, killed: [] };
  const deadline = Date.now() + (options.graceMs ?? 1000);
  let left = targets.filter(sameProcess);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(25);
    left = left.filter(sameProcess);
  }
  const killed = signalAll(left, 'SIGKILL').map((p) => p.pid);
  return { terminated, killed };
}

/** Reads the program of each pane of a target (`pane`, `window` or `session` scope) from tmux; empty when the target is gone. */
export async function panesOf(
  run: (args: string[]) => Promise<string | undefined>, target: string, scope: 'pane' | 'window' | 'session',
): Promise<PaneProcess[]> {
  const format = '#{pane_pid} #{pane_dead}';
  const args = scope === 'pane' ? ['display-message', '-p', '-t', target, format] : ['list-panes', ...(scope === 'session' ? ['-s'] : []), '-t', target, '-F', format];
  const out = await run(args).catch(() => undefined);
  if (!out) return [];
  return out.split('\n').filter(Boolean).map((line) => {
    const [pid, dead] = line.split(' ');
    return { pid: Number(pid), dead: dead === '1' };
  }).filter((p) => Number.isInteger(p.pid) && p.pid > 0);
}
