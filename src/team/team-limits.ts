import type { Layout } from '../bus/layout.js';
import { readRegistry } from '../bus/registry.js';
import type { SessionLimits } from './resource-types.js';
import { limitCounts } from './session-limits.js';
import { readTeamState } from './team-state.js';

/** One team's agents against its `session_limits`, as `status` and `monitor` show them. */
export interface TeamLimitReport {
  file: string;
  name: string;
  agents: number;
  max_total?: number;
  projects: Record<string, { count: number; max?: number }>;
}

/**
 * The teams `up` recorded with session limits, each counted now: its agents
 * are those it registered and those its supervisor scaled (both carry the
 * topology file as their owner).
 */
export function teamLimitReports(layout: Layout): TeamLimitReport[] {
  const agents = Object.values(readRegistry(layout).agents);
  return Object.values(readTeamState(layout).teams)
    .filter((team): team is typeof team & { session_limits: SessionLimits } => team.session_limits !== undefined && Object.keys(team.session_limits).length > 0)
    .map((team) => {
      const counted = limitCounts(team.session_limits, agents.filter((a) => a.owner === team.file));
      return { file: team.file, name: team.name, agents: counted.total, ...(counted.max_total !== undefined ? { max_total: counted.max_total } : {}), projects: counted.projects };
    });
}

/** `agents 4/10 · project web 2/3` (a limit not set shows the count alone). */
export function formatLimits(report: TeamLimitReport): string {
  const of = (count: number, max: number | undefined) => (max === undefined ? String(count) : `${count}/${max}`);
  const projects = Object.entries(report.projects).sort(([a], [b]) => a.localeCompare(b)).map(([name, p]) => `project ${name} ${of(p.count, p.max)}`);
  return [`agents ${of(report.agents, report.max_total)}`, ...projects].join(' · ');
}
