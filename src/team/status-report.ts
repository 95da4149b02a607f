import { currentAgentStates } from '../agents/screen-state.js';
import { teamLimitReports, type TeamLimitReport } from './team-limits.js';
import type { AgentState } from '../agents/profile-types.js';
import type { Layout } from '../bus/layout.js';
import { readBridgeStatus, type BridgeStatus } from '../bus/bridge-status.js';
import { readRegistry } from '../bus/registry.js';
import { countUndelivered } from '../client/backlog.js';
import { readLiveKeeperStatus, readLiveRouterStatus } from '../router/router-status.js';

/**
 * What `status` shows and the MCP server's `bus_status` / `list_agents`
 * return: the router's state and counters, and each agent with its role,
 * delivery, state (agents/agent-state.ts) and undelivered messages.
 */
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
    /** The machine it lives on, for an agent of another machine (the NATS bridge registers those). */
    machine?: string;
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
  /** The NATS bridge, when one ran for this root (`running` false: it stopped or died; the figures are its last). */
  bridge?: BridgeStatus & { running: boolean };
  /** Teams with `resource_management.session_limits`: their agents against the limits. */
  teams?: TeamLimitReport[];
}

export interface CollectStatusOptions {
  /** tmux -L socket of the panes. */
  tmuxSocket?: string;
  /** Ask tmux about the agents' panes (default true). */
  panes?: boolean;
}

export async function collectStatus(layout: Layout, options: CollectStatusOptions = {}): Promise<StatusReport> {
  const registry = readRegistry(layout);
  const router = readLiveRouterStatus(layout);
  const keeper = readLiveKeeperStatus(layout);
  const offline = router ? undefined : countUndelivered(layout, registry);
  const states = await currentAgentStates(layout, Object.values(registry.agents), options.tmuxSocket);
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
        const { known, profile } = states.get(a.name) ?? {};
        return {
          name: a.name,
          ...(a.role ? { role: a.role } : {}),
          deliver: a.deliver,
          ...(a.machine ? { machine: a.machine } : {}),
          ...(a.tmux ? { tmux: a.tmux } : {}),
          ...(profile ? { profile } : {}),
          ...(a.status ? { status: a.status } : {}),
          ...(known ? { state: known.state, state_source: known.source } : {}),
          undelivered: live?.undelivered ?? offline?.[a.name] ?? 0,
          ...(waiting ? { waiting } : {}),
        };
      }),
  };
  const teams = teamLimitReports(layout);
  if (teams.length > 0) report.teams = teams;
  const bridge = readBridgeStatus(layout);
  if (bridge) report.bridge = bridge;
  if (options.panes === false) return report;
  const panes = await paneStatus(layout, options.tmuxSocket, registry);
  if (panes) report.panes = panes.rows;
  return report;
}

/** The panes' table (team/pane-status.ts), or why it is unavailable; undefined when no agent has a pane. */
export async function paneStatus(layout: Layout, socket: string | undefined, registry: ReturnType<typeof readRegistry>): Promise<{ rows: unknown[]; text: string } | undefined> {
  if (!Object.values(registry.agents).some((a) => a.tmux)) return undefined;
  try {
    const { collectPaneStatus, renderPaneStatus } = await import('./pane-status.js');
    const rows = await collectPaneStatus(layout, socket);
    return { rows, text: renderPaneStatus(rows) };
  } catch (error) {
    return { rows: [], text: `panes: unavailable (${(error as Error).message})` };
  }
}

function diskFull(...since: Array<string | undefined>): { disk_full_since?: string } {
  const first = since.filter((s): s is string => s !== undefined).sort()[0];
  return first ? { disk_full_since: first } : {};
}
