import { agentStateOf } from '../agents/agent-state.js';
import { readReportedState } from '../agents/agent-state-store.js';
import type { AgentState } from '../agents/profile-types.js';
import { formatDuration } from '../bus/human-format.js';
import type { Layout } from '../bus/layout.js';
import { readRegistry } from '../bus/registry.js';
import { openRoot } from '../bus/root.js';
import { renderTable } from '../bus/text-table.js';
import { countUndelivered } from '../client/backlog.js';
import { readLiveKeeperStatus, readLiveRouterStatus } from '../router/router-status.js';
import { formatLimits, teamLimitReports, type TeamLimitReport } from '../team/team-limits.js';
import { printJson, printLine, rootOf, tmuxSocketOf, type GlobalOptions } from './context.js';

export interface StatusReport {
  root: string;
  router: {
    running: boolean;
    pid?: number;
    keeper_pid?: number;
    uptime_s?: number;
    restarts: number;
    durability?: string;
    accepted: number;
    delivered: number;
    dead_lettered: number;
    held: number;
    /** Set while the disk is full: intake waits (bytes stay in the pipes), nothing is lost; it resumes by itself. */
    disk_full_since?: string;
  };
  agents: Array<{
    name: string;
    role?: string;
    deliver: string;
    tmux?: string;
    profile?: string;
    status?: string;
    /** What the agent is doing (agents/agent-state.ts): starting, idle, busy, waiting_input, rate_limited, compacting, dead, failed. */
    state?: AgentState;
    state_source?: string;
    undelivered: number;
    waiting?: string;
  }>;
  panes?: unknown[];
  /** Teams with `resource_management.session_limits`: their agents against the limits. */
  teams?: TeamLimitReport[];
}

export async function collectStatus(layout: Layout, tmuxSocket?: string): Promise<StatusReport> {
  const registry = readRegistry(layout);
  const router = readLiveRouterStatus(layout);
  const keeper = readLiveKeeperStatus(layout);
  const offline = router ? undefined : countUndelivered(layout, registry);
  const report: StatusReport = {
    root: layout.root,
    router: {
      running: Boolean(router),
      ...(router ? { pid: router.pid, uptime_s: Math.round((Date.now() - Date.parse(router.started)) / 1000), durability: router.durability } : {}),
      ...(keeper ? { keeper_pid: keeper.pid } : {}),
      restarts: keeper?.restarts ?? router?.restarts ?? 0,
      accepted: router?.accepted ?? 0,
      delivered: router?.delivered ?? 0,
      dead_lettered: router?.dead_lettered ?? 0,
      held: router?.held ?? 0,
      ...diskFull(router?.disk_full_since, keeper?.disk_full_since),
    },
    agents: Object.values(registry.agents)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((a) => {
        const live = router?.agents[a.name];
        const waiting = live ? Object.values(live.consumers).find((c) => c.waiting)?.waiting : undefined;
        const known = agentStateOf(a, readReportedState(layout, a.name));
        return {
          name: a.name,
          ...(a.role ? { role: a.role } : {}),
          deliver: a.deliver,
          ...(a.tmux ? { tmux: a.tmux } : {}),
          ...(a.profile ? { profile: a.profile } : {}),
          ...(a.status ? { status: a.status } : {}),
          ...(known ? { state: known.state, state_source: known.source } : {}),
          undelivered: live?.undelivered ?? offline?.[a.name] ?? 0,
          ...(waiting ? { waiting } : {}),
        };
      }),
  };
  const panes = await paneStatus(layout, tmuxSocket, registry);
  if (panes) report.panes = panes.rows;
  const teams = teamLimitReports(layout);
  if (teams.length > 0) report.teams = teams;
  return report;
}

async function paneStatus(layout: Layout, socket: string | undefined, registry: ReturnType<typeof readRegistry>): Promise<{ rows: unknown[]; text: string } | undefined> {
  if (!Object.values(registry.agents).some((a) => a.tmux)) return undefined;
  try {
    const { collectPaneStatus, renderPaneStatus } = await import('../team/pane-status.js');
    const rows = await collectPaneStatus(layout, socket);
    return { rows, text: renderPaneStatus(rows) };
  } catch (error) {
    return { rows: [], text: `panes: unavailable (${(error as Error).message})` };
  }
}

export async function statusCommand(options: GlobalOptions & { json?: boolean }): Promise<void> {
  const layout = openRoot(rootOf(options));
  const report = await collectStatus(layout, tmuxSocketOf(options));
  if (options.json) {
    printJson(report);
    return;
  }
  const r = report.router;
  printLine(`bus       ${report.root}`);
  printLine(
    r.running
      ? `router    running  pid ${r.pid}${r.keeper_pid ? ` (keeper ${r.keeper_pid})` : ' (foreground)'}  up ${formatDuration((r.uptime_s ?? 0) * 1000)}  restarts ${r.restarts}  durability ${r.durability}`
      : 'router    not running (start it with `bmad-bus start`)',
  );
  if (r.disk_full_since) printLine(`disk      full since ${r.disk_full_since}: intake waits, nothing is lost; it resumes by itself when space returns`);
  if (r.running) printLine(`messages  accepted ${r.accepted}  delivered ${r.delivered}  dead-lettered ${r.dead_lettered}  held ${r.held}`);
  for (const team of report.teams ?? []) printLine(`limits    ${team.name}: ${formatLimits(team)}`);
  printLine();
  if (report.agents.length === 0) printLine('no agents');
  else {
    printLine(
      renderTable(
        ['AGENT', 'ROLE', 'DELIVER', 'STATUS', 'STATE', 'UNDELIVERED', 'WAITING'],
        report.agents.map((a) => [a.name, a.role ?? '-', a.deliver, a.status ?? '-', a.state ?? '-', String(a.undelivered), a.waiting ?? '']),
      ).join('\n'),
    );
  }
  const panes = await paneStatus(layout, tmuxSocketOf(options), readRegistry(layout));
  if (panes) {
    printLine();
    printLine(panes.text);
  }
}

function diskFull(...since: Array<string | undefined>): { disk_full_since?: string } {
  const first = since.filter((s): s is string => s !== undefined).sort()[0];
  return first ? { disk_full_since: first } : {};
}
