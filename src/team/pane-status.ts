import { formatAge } from '../bus/human-format.js';
import type { Layout } from '../bus/layout.js';
import { readRegistry, type AgentRecord } from '../bus/registry.js';
import { renderTable } from '../bus/text-table.js';
import { findPane, listPanes } from '../tmux/pane-list.js';
import { tryTmux } from '../tmux/plain.js';
import { readTeamState } from './team-state.js';

/** One pane of a team, as `status` shows it. */
export interface PaneStatus {
  socket?: string;
  session: string;
  window_index: number;
  window_name: string;
  pane_index: number;
  pane_id: string;
  agent?: string;
  role?: string;
  /** The pane's foreground program (`#{pane_current_command}`). */
  command: string;
  alive: boolean;
  /** Exit status of a dead pane's program (remain-on-exit keeps it visible). */
  exit_status?: number;
  pid?: number;
  /** Last output in the pane's window (`#{window_activity}`), ISO 8601. */
  last_activity?: string;
  /** True for a registered agent whose pane no longer exists. */
  missing?: boolean;
  title?: string;
}

/**
 * Collects every pane of the sessions that hold a registered agent's pane or
 * that `up` made, per tmux server, plus a `missing` row for each agent whose
 * pane is gone. The `status` command adds the undelivered counts it knows.
 */
export async function collectPaneStatus(layout: Layout, socket: string | undefined): Promise<PaneStatus[]> {
  const registry = readRegistry(layout);
  const teams = Object.values(readTeamState(layout).teams);
  const agents = Object.values(registry.agents).filter((a) => a.tmux);
  const sockets = new Set<string>();
  for (const agent of agents) sockets.add(agent.tmux_socket ?? socket ?? '');
  for (const team of teams) sockets.add(team.socket ?? socket ?? '');
  const rows: PaneStatus[] = [];
  const seenAgents = new Set<string>();
  for (const key of sockets) {
    const sock = key || undefined;
    const panes = await listPanes((args) => tryTmux(args, { socket: sock, timeoutMs: 5000 }));
    if (panes === undefined) continue; // no server on this socket: its agents show as missing below
    const agentOf = new Map<string, AgentRecord>();
    for (const agent of agents) {
      if ((agent.tmux_socket ?? socket ?? '') !== key) continue;
      const pane = findPane(panes, agent.tmux!);
      if (pane && !agentOf.has(pane.id)) agentOf.set(pane.id, agent);
    }
    const wanted = new Set<string>();
    for (const team of teams) if ((team.socket ?? socket ?? '') === key) for (const s of team.sessions) wanted.add(s.name);
    for (const pane of panes) if (agentOf.has(pane.id)) wanted.add(pane.session);
    for (const pane of panes) {
      if (!wanted.has(pane.session)) continue;
      const agent = agentOf.get(pane.id);
      if (agent) seenAgents.add(agent.name);
      const agentName = agent?.name ?? (pane.agentTag || undefined);
      rows.push({
        ...(sock ? { socket: sock } : {}),
        session: pane.session,
        window_index: pane.windowIndex,
        window_name: pane.windowName,
        pane_index: pane.paneIndex,
        pane_id: pane.id,
        ...(agentName ? { agent: agentName } : {}),
        ...(agent?.role ? { role: agent.role } : {}),
        command: pane.currentCommand,
        alive: !pane.dead,
        ...(pane.deadStatus !== undefined ? { exit_status: pane.deadStatus } : {}),
        ...(pane.pid ? { pid: pane.pid } : {}),
        ...(pane.windowActivity > 0 ? { last_activity: new Date(pane.windowActivity * 1000).toISOString() } : {}),
        ...(pane.title ? { title: pane.title } : {}),
      });
    }
  }
  for (const agent of agents) {
    if (seenAgents.has(agent.name)) continue;
    rows.push({
      ...((agent.tmux_socket ?? socket) ? { socket: agent.tmux_socket ?? socket } : {}),
      session: '-', window_index: -1, window_name: '-', pane_index: -1, pane_id: agent.tmux!,
      agent: agent.name, ...(agent.role ? { role: agent.role } : {}), command: '-', alive: false, missing: true,
    });
  }
  return rows;
}

/** A table of the panes: SESSION WINDOW PANE AGENT ROLE COMMAND STATE ACTIVITY. */
export function renderPaneStatus(rows: PaneStatus[]): string {
  if (rows.length === 0) return 'no panes';
  const now = Date.now();
  const lines = rows.map((row) => {
    const state = row.missing ? 'missing' : row.alive ? 'alive' : `dead${row.exit_status !== undefined ? ` (${row.exit_status})` : ''}`;
    const activity = row.last_activity ? formatAge(now - Date.parse(row.last_activity)) : '-';
    const window = row.window_index < 0 ? '-' : `${row.window_index}:${row.window_name}`;
    const pane = row.pane_index < 0 ? row.pane_id : `${row.pane_index} ${row.pane_id}`;
    return [row.session, window, pane, row.agent ?? (row.title ? `(${row.title})` : '-'), row.role ?? '-', row.command, state, activity];
  });
  return renderTable(['SESSION', 'WINDOW', 'PANE', 'AGENT', 'ROLE', 'COMMAND', 'STATE', 'ACTIVITY'], lines).join('\n');
}
