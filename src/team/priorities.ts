import os from 'node:os';
import { readProcessTree } from './proc-stats.js';
import { NICE_OF_LEVEL, type PriorityLevel } from './resource-types.js';
import type { Topology } from './topology-types.js';

/**
 * The CPU side of `resource_management.priorities`: an agent's whole process
 * tree gets the nice value of its level (NICE_OF_LEVEL). Only ever raised:
 * a normal user cannot lower a nice value, and a process someone made nicer
 * by hand stays so. New children inherit their parent's value; a restarted
 * pane starts from the tmux server's, so the supervisor applies it again.
 */
export interface NiceResult {
  nice: number;
  /** Processes of the tree. */
  processes: number;
  /** Of them, those whose nice value was raised now. */
  changed: number;
}

export function applyPriority(rootPid: number, level: PriorityLevel): NiceResult {
  const nice = NICE_OF_LEVEL[level];
  const tree = readProcessTree(rootPid);
  let changed = 0;
  for (const proc of tree) {
    if (raiseNice(proc.pid, nice)) changed++;
  }
  return { nice, processes: tree.length, changed };
}

/** True when it raised the process's nice value to `nice`; false when it was there already or the process is gone. */
function raiseNice(pid: number, nice: number): boolean {
  try {
    if (os.getPriority(pid) >= nice) return false;
    os.setPriority(pid, nice);
    return true;
  } catch (error) {
    // os.*Priority report errno in `info.code`: ESRCH is the process ending between the read of /proc and now.
    if ((error as { info?: { code?: string } }).info?.code === 'ESRCH') return false;
    throw error;
  }
}

/** After `up`: each agent's pane tree gets its level's nice value (nothing when the topology lists no priorities). */
export async function applyTeamPriorities(topology: Topology, panes: ReadonlyMap<string, string>, read: (args: string[]) => Promise<string>): Promise<void> {
  if (Object.keys(topology.resource_management.priorities).length === 0) return;
  for (const agent of topology.agents) {
    const paneId = panes.get(agent.name);
    const pid = paneId ? Number(await read(['display-message', '-p', '-t', paneId, '#{pane_pid}'])) : NaN;
    if (Number.isInteger(pid) && pid > 0) applyPriority(pid, agent.priority);
  }
}
