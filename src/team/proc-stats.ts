import { execFileSync } from 'node:child_process';
import { ConfigError } from '../bus/errors.js';
import { parseSize } from '../bus/duration.js';
import { readChildren, readStat, readStatusRss, scanProcesses, type ProcStat } from '../bus/proc-scan.js';

/**
 * CPU and memory of a process tree (an agent's pane: its shell and whatever
 * runs under it). Reading /proc is proc-scan.ts's; the rest here is pure
 * arithmetic on what it read.
 */

export { parseStat, parseStatusRss } from '../bus/proc-scan.js';

/** One process as the sampler sees it. */
export interface ProcessInfo extends Pick<ProcStat, 'pid' | 'ppid' | 'comm' | 'state' | 'cpuTicks' | 'startTicks'> {
  /** Resident memory in bytes (`VmRSS`; 0 for zombies and kernel threads). */
  rssBytes: number;
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
  const stat = readStat(pid);
  return stat ? withRss(stat) : undefined;
}

/** Every process on the machine, read by scanning /proc. */
export function listProcesses(): ProcessInfo[] {
  return scanProcesses().map(withRss);
}

/** The stat's process with its memory: `VmRSS` where status has it (it may have vanished since stat was read), else stat's pages. */
function withRss(stat: ProcStat): ProcessInfo {
  const { pid, ppid, comm, state, cpuTicks, startTicks, rssPages } = stat;
  return { pid, ppid, comm, state, cpuTicks, startTicks, rssBytes: readStatusRss(pid) ?? rssPages * systemPageSize() };
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

/** Reads the process tree rooted at `root` from /proc (empty when the root is gone). */
export function readProcessTree(root: number): ProcessInfo[] {
  const top = readProcess(root);
  if (!top) return [];
  if (readChildren(root) === undefined) return treeOf(root, listProcesses());
  return walkTree(top, (p) => (readChildren(p.pid) ?? []).map(readProcess).filter((c): c is ProcessInfo => c !== undefined));
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
