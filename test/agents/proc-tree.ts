// Finding and ending every process one agent run left behind. Killing the tmux pane is not
// enough: Gemini CLI's node processes survive their pane, and Codex starts a detached
// `codex app-server --managed-daemon` in a session of its own. So the run is found two ways:
// the descendants of the pane's process, and every process whose environment carries the
// run's unique marker (a daemon inherits it even after setsid). Never by name.
import fs from 'node:fs';

interface ProcInfo {
  pid: number;
  ppid: number;
}

function readStat(pid: number): ProcInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces; fields follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]) };
  } catch {
    return undefined; // gone between readdir and read
  }
}

function allPids(): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

function hasMarker(pid: number, marker: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(marker);
  } catch {
    return false; // gone, or not ours to read
  }
}

/** `root` and its descendants, plus every process whose environment holds `marker` (KEY=VALUE). */
export function findRun(root: number | undefined, marker: string): number[] {
  const infos = allPids().map(readStat).filter((p): p is ProcInfo => p !== undefined);
  const found = new Set<number>();
  if (root !== undefined && infos.some((p) => p.pid === root)) found.add(root);
  for (const p of infos) if (hasMarker(p.pid, marker)) found.add(p.pid);
  // Close over parent links until nothing new turns up.
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of infos) {
      if (!found.has(p.pid) && found.has(p.ppid)) {
        found.add(p.pid);
        grew = true;
      }
    }
  }
  found.delete(process.pid);
  return [...found];
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** Ends the whole run: SIGTERM, then SIGKILL for what is left after `graceMs`; returns the pids it found. */
export async function killRun(root: number | undefined, marker: string, graceMs = 2000): Promise<number[]> {
  const seen = new Set<number>();
  let pids = findRun(root, marker);
  pids.forEach((p) => seen.add(p));
  signal(pids, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    // Zombies are waited for by their parent; a marker search would find them no more.
    pids = findRun(undefined, marker).filter((p) => !isZombie(p));
    if (pids.length === 0) return [...seen];
  }
  // A daemon may have been started while we waited: look again, by marker and tree.
  for (let round = 0; round < 5; round++) {
    pids = findRun(undefined, marker).filter((p) => !isZombie(p));
    if (pids.length === 0) break;
    pids.forEach((p) => seen.add(p));
    signal(pids, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
  }
  return [...seen];
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
