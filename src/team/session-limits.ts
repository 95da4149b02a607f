import { SessionLimitError } from '../bus/errors.js';
import type { SessionLimits } from './resource-types.js';

/**
 * `resource_management.session_limits` — hard caps on the agents of a team:
 * one rule for `up`, scaling, `restore` and the rebuild after a tmux server
 * death, each of which asks before it creates anything.
 */

export interface LimitBreach {
  limit: 'max_total' | 'max_per_project';
  /** How many agents there would be. */
  count: number;
  max: number;
  project?: string | undefined;
}

type Counted = { project?: string | undefined };

/** The first limit that `existing` plus `adding` agents would go over, or undefined. Pure. */
export function limitBreach(limits: SessionLimits, existing: readonly Counted[], adding: readonly Counted[]): LimitBreach | undefined {
  const all = [...existing, ...adding];
  if (limits.max_total !== undefined && adding.length > 0 && all.length > limits.max_total) {
    return { limit: 'max_total', count: all.length, max: limits.max_total };
  }
  if (limits.max_per_project !== undefined) {
    for (const project of new Set(adding.map((a) => a.project).filter((p): p is string => p !== undefined))) {
      const count = all.filter((a) => a.project === project).length;
      if (count > limits.max_per_project) return { limit: 'max_per_project', count, max: limits.max_per_project, project };
    }
  }
  return undefined;
}

/** Counts agents against the limits as `status` and `monitor` show them: `agents 4/10`, and per project. */
export function limitCounts(limits: SessionLimits, agents: readonly Counted[]): { total: number; max_total?: number; projects: Record<string, { count: number; max?: number }> } {
  const projects: Record<string, { count: number; max?: number }> = {};
  for (const a of agents) {
    if (a.project === undefined) continue;
    const entry = (projects[a.project] ??= { count: 0, ...(limits.max_per_project !== undefined ? { max: limits.max_per_project } : {}) });
    entry.count++;
  }
  return { total: agents.length, ...(limits.max_total !== undefined ? { max_total: limits.max_total } : {}), projects };
}

/** Throws SessionLimitError when `what` would go over a limit; the message says which, by how much, and that nothing was made. */
export function assertWithinLimits(what: string, limits: SessionLimits, existing: readonly Counted[], adding: readonly Counted[]): void {
  const breach = limitBreach(limits, existing, adding);
  if (!breach) return;
  const where = breach.project ? ` in project ${breach.project}` : '';
  throw new SessionLimitError(
    `Refusing ${what}: it would make ${breach.count} agents${where}, more than resource_management.session_limits.${breach.limit} ${breach.max}; nothing was created`,
    breach,
  );
}
