import fs from 'node:fs';

/**
 * Reading /proc, in one place: a process's `stat` line (parent, group,
 * session, state, CPU time, start time), its resident memory, its children,
 * and the list of every process. What is read here feeds both the resource
 * sampler (proc-stats.ts) and the ending of a pane's processes
 * (pane-processes.ts). A process that exits while it is read is normal here:
 * it is left out, never an error.
 */

/** One process as its `/proc/<pid>/stat` shows it. */
export interface ProcStat {
  pid: number;
  ppid: number;
  /** Process group id. */
  pgid: number;
  /** Session id. */
  sid: number;
  /** The program name (`comm`), at most 15 characters. */
  comm: string;
  /** One-letter state: R running, S sleeping, Z zombie... */
  state: string;
  /** User + system CPU time, in clock ticks. */
  cpuTicks: number;
  /** Start time since boot, in clock ticks: tells a reused pid from the process that had it. */
  startTicks: number;
  /** Resident set size in pages (`VmRSS` of status is the better figure where it exists). */
  rssPages: number;
}

/**
 * Parses the text of `/proc/<pid>/stat`. The program name sits in parentheses
 * and may itself contain spaces and `)`, so fields are counted from the last `)`.
 */
export function parseStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`Not a /proc stat line: ${text.slice(0, 60)}`);
  const pid = Number(text.slice(0, open).trim());
  const comm = text.slice(open + 1, close);
  // Fields from 3 (state) on; the numbers in proc(5) are 1-based over the whole line.
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const field = (n: number): number => Number(rest[n - 3]);
  return {
    pid,
    ppid: field(4),
    pgid: field(5),
    sid: field(6),
    comm,
    state: rest[0] ?? '?',
    cpuTicks: field(14) + field(15),
    startTicks: field(22),
    rssPages: field(24),
  };
}

/** `VmRSS` of `/proc/<pid>/status`, in bytes; undefined when absent (zombies, kernel threads). */
export function parseStatusRss(text: string): number | undefined {
  const match = /^VmRSS:\s+(\d+)\s*kB/m.exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** One process's stat, or undefined when it is gone (or its line does not parse). */
export function readStat(pid: number): ProcStat | undefined {
  try {
    return parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** One process's `VmRSS` in bytes; undefined when it is gone or has none. */
export function readStatusRss(pid: number): number | undefined {
  try {
    return parseStatusRss(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Every process on the machine, by scanning /proc (one that exits meanwhile is left out). */
export function scanProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) out.push(stat);
  }
  return out;
}

/**
 * The children of a process via `/proc/<pid>/task/<tid>/children` where the
 * kernel has it (CONFIG_PROC_CHILDREN); empty when the process is gone, and
 * undefined where the kernel does not have it (the caller scans /proc for
 * parent pids instead).
 */
export function readChildren(pid: number): number[] | undefined {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tids) {
    try {
      for (const c of fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/)) if (c) out.push(Number(c));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && tid === String(pid)) return undefined;
    }
  }
  return out;
}
