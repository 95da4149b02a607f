import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { ConfigError } from '../bus/errors.js';
import { parseSize } from '../bus/duration.js';

/**
 * CPU and memory of a process tree (an agent's pane: its shell and whatever
 * runs under it), read from /proc. Parsing is pure; reading /proc happens in
 * `readProcess` and `listProcesses` only.
 */

/** One process as /proc shows it. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** The program name (`comm`), at most 15 characters. */
  comm: string;
  /** One-letter state: R running, S sleeping, Z zombie... */
  state: string;
  /** User + system CPU time, in clock ticks. */
  cpuTicks: number;
  /** Start time since boot, in clock ticks: tells a reused pid from the process that had it. */
  startTicks: number;
  /** Resident memory in bytes (`VmRSS`; 0 for zombies and kernel threads). */
  rssBytes: number;
}

/**
 * Parses the text of `/proc/<pid>/stat`. The program name sits in parentheses
 * and may itself contain spaces and `)`, so fields are counted from the last `)`.
 */
export function parseStat(text: string): Omit<ProcessInfo, 'rssBytes'> & { rssPages: number } {
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

let pageSize: number | undefined;
let clockTicks: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`, almost always 100), asked once. */
export function clockTicksPerSecond(): number {
  clockTicks ??= getconf('CLK_TCK', 100);
  return clockTicks;
}

function systemPageSize(): number {
  pageSize ??= getconf('PAGESIZE', 4096);
  return pageSize;
}

function getconf(name: string, fallback: number): number {
  try {
    const value = Number(execFileSync('getconf', [name], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isFinite(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

/** Reads one process, or undefined when it is gone (a race that is normal here). */
export function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    let rssBytes: number | undefined;
    try {
      rssBytes = parseStatusRss(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      // stat was readable: status vanished in between; fall back to stat's pages.
    }
    const { rssPages, ...info } = stat;
    return { ...info, rssBytes: rssBytes ?? rssPages * systemPageSize() };
  } catch {
    return undefined;
  }
}

/** Every process on the machine, read by scanning /proc. */
export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProcess(Number(name));
    if (info) out.push(info);
  }
  return out;
}

/** The processes of the tree rooted at `root` (the root first), from a list of processes. Pure. */
export function treeOf(root: number, processes: readonly ProcessInfo[]): ProcessInfo[] {
  const children = new Map<number, ProcessInfo[]>();
  let top: ProcessInfo | undefined;
  for (const p of processes) {
    if (p.pid === root) top = p;
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  return top ? walkTree(top, (p) => children.get(p.pid) ?? []) : [];
}

/** Breadth first from `top`, each process once (a pid reused mid-walk cannot loop it). */
function walkTree(top: ProcessInfo, childrenOf: (p: ProcessInfo) => ProcessInfo[]): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  const queue = [top];
  const seen = new Set<number>();
  while (queue.length > 0) {
    const p = queue.shift()!;
    if (seen.has(p.pid)) continue;
    seen.add(p.pid);
    out.push(p);
    queue.push(...childrenOf(p));
  }
  return out;
}

/**
 * The children of each process via `/proc/<pid>/task/<tid>/children` where the
 * kernel has it (CONFIG_PROC_CHILDREN); undefined where it does not, and the
 * caller scans /proc for parent pids instead.
 */
function childrenFromKernel(pid: number): number[] | undefined {
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

/** Reads the process tree rooted at `root` from /proc (empty when the root is gone). */
export function readProcessTree(root: number): ProcessInfo[] {
  const top = readProcess(root);
  if (!top) return [];
  if (childrenFromKernel(root) === undefined) return treeOf(root, listProcesses());
  return walkTree(top, (p) => (childrenFromKernel(p.pid) ?? []).map(readProcess).filter((c): c is ProcessInfo => c !== undefined));
}

/** A measurement of one process tree at one moment. */
export interface TreeSample {
  root: number;
  /** Monotonic time of the sample, ms. */
  at: number;
  /** CPU ticks so far per process, keyed by `pid:startTicks` so a reused pid is a new process. */
  ticks: Map<string, number>;
  /** Sum of the processes' RSS: pages shared between them count once per process, so it errs high. */
  rssBytes: number;
  pids: number[];
}

export function sampleOf(root: number, processes: readonly ProcessInfo[], at: number): TreeSample {
  const ticks = new Map<string, number>();
  let rssBytes = 0;
  for (const p of processes) {
    ticks.set(`${p.pid}:${p.startTicks}`, p.cpuTicks);
    rssBytes += p.rssBytes;
  }
  return { root, at, ticks, rssBytes, pids: processes.map((p) => p.pid) };
}

/**
 * CPU use of a tree between two samples, in percent of one core (as `top`
 * shows it: a tree keeping two cores busy is 200). Processes present in both
 * count their difference; a process new in `later` counts all its ticks (it
 * started within the interval); one that exited in between is not counted
 * (its last ticks are lost with it), so this errs low, never high.
 */
export function cpuPercentBetween(earlier: TreeSample, later: TreeSample, ticksPerSecond = clockTicksPerSecond()): number {
  const seconds = (later.at - earlier.at) / 1000;
  if (seconds <= 0) return 0;
  let ticks = 0;
  for (const [key, now] of later.ticks) ticks += Math.max(0, now - (earlier.ticks.get(key) ?? 0));
  return (ticks / ticksPerSecond / seconds) * 100;
}

export interface TreeStats {
  root: number;
  /** Undefined on the first sample of a tree: CPU % needs two. */
  cpuPercent: number | undefined;
  rssBytes: number;
  pids: number[];
  /** False when the root process is gone. */
  alive: boolean;
}

/**
 * Samples process trees and remembers the previous sample of each root, so
 * every call after the first gives the CPU % since the last one.
 *
 * @example
 * const sampler = new ProcessTreeSampler();
 * sampler.sample(panePid); // primes
 * setInterval(() => console.log(sampler.sample(panePid)), 5000);
 */
export class ProcessTreeSampler {
  private readonly previous = new Map<number, TreeSample>();
  private readonly clock: () => number;

  constructor(options: { clock?: () => number } = {}) {
    this.clock = options.clock ?? (() => performance.now());
  }

  sample(root: number): TreeStats {
    const processes = readProcessTree(root);
    const current = sampleOf(root, processes, this.clock());
    const before = this.previous.get(root);
    if (processes.length === 0) {
      this.previous.delete(root);
      return { root, cpuPercent: undefined, rssBytes: 0, pids: [], alive: false };
    }
    this.previous.set(root, current);
    return { root, cpuPercent: before ? cpuPercentBetween(before, current) : undefined, rssBytes: current.rssBytes, pids: current.pids, alive: true };
  }

  /** Forgets roots not in `keep` (panes that went away). */
  retain(keep: Iterable<number>): void {
    const set = new Set(keep);
    for (const root of this.previous.keys()) if (!set.has(root)) this.previous.delete(root);
  }
}

/** `resource_limits.per_session` as written in the topology. */
export interface ResourceLimitsInput {
  memory?: string | number;
  cpu_percent?: string | number;
}

export interface ResourceLimits {
  memoryBytes?: number;
  /** Percent of one core, like `cpuPercentBetween`. */
  cpuPercent?: number;
}

/** Parses `{ memory: 2GB, cpu_percent: 25 }`; throws ConfigError naming the bad field. */
export function parseResourceLimits(input: ResourceLimitsInput | undefined, where = 'resource_limits.per_session'): ResourceLimits {
  const out: ResourceLimits = {};
  if (!input) return out;
  if (input.memory !== undefined) {
    try {
      out.memoryBytes = parseSize(input.memory, `${where}.memory`);
    } catch (error) {
      throw new ConfigError((error as Error).message, { cause: error });
    }
  }
  if (input.cpu_percent !== undefined) {
    const n = typeof input.cpu_percent === 'number' ? input.cpu_percent : Number(String(input.cpu_percent).trim().replace(/%$/, ''));
    if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`Expected ${where}.cpu_percent to be a positive number like 25, got \`${String(input.cpu_percent)}\``);
    out.cpuPercent = n;
  }
  return out;
}

export interface LimitBreach {
  kind: 'memory' | 'cpu';
  value: number;
  limit: number;
}

/** What of `stats` is over `limits`. Pure; a first sample (no CPU % yet) is never over on CPU. */
export function checkLimits(stats: Pick<TreeStats, 'cpuPercent' | 'rssBytes'>, limits: ResourceLimits): LimitBreach[] {
  const out: LimitBreach[] = [];
  if (limits.memoryBytes !== undefined && stats.rssBytes > limits.memoryBytes) out.push({ kind: 'memory', value: stats.rssBytes, limit: limits.memoryBytes });
  if (limits.cpuPercent !== undefined && stats.cpuPercent !== undefined && stats.cpuPercent > limits.cpuPercent) {
    out.push({ kind: 'cpu', value: stats.cpuPercent, limit: limits.cpuPercent });
  }
  return out;
}

/** `1.5G`, `300M`, `12K`: memory as the monitor and events show it. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)}G`;
  if (bytes >= 1024 ** 2) return `${Math.round(bytes / 1024 ** 2)}M`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)}K`;
  return `${bytes}B`;
}
