import type { Layout } from '../bus/layout.js';
import type { Registry } from '../bus/registry.js';
import { readStateFile, updateStateFile } from '../bus/state-file.js';
import type { TeamState } from './team-state.js';
import type { AgentHealth } from './supervisor-types.js';

/**
 * The supervisor's writes to shared state files, each one locked
 * read-modify-write that changes only its own field, so the router, `up` and
 * the CLI writing the same files at the same time lose nothing.
 */

/** An agent the supervisor started by scaling up (only these are ever scaled down). */
export interface ScaledAgent {
  name: string;
  type: string;
  session: string;
  window_id: string;
  pane_id: string;
  /** True when the supervisor made the session too (down kills it then). */
  session_created: boolean;
  spawned: string;
}

export interface SupervisorState {
  /** Journal offset up to which `result` messages were applied to the tasks. */
  results_offset?: number;
  scaled: Record<string, ScaledAgent>;
}

const EMPTY_STATE: SupervisorState = { scaled: {} };
const EMPTY_REGISTRY: Registry = { agents: {}, groups: {} };
const EMPTY_TEAMS: TeamState = { teams: {} };

export function readSupervisorState(layout: Layout): SupervisorState {
  const state = readStateFile<SupervisorState>(layout.supervisorFile, EMPTY_STATE);
  return { ...state, scaled: state.scaled ?? {} };
}

export function updateSupervisorState(layout: Layout, change: (state: SupervisorState) => SupervisorState): Promise<void> {
  return updateStateFile<SupervisorState>(layout.supervisorFile, EMPTY_STATE, (state) => ({
    value: change({ ...state, scaled: state.scaled ?? {} }),
    result: undefined,
  }));
}

/** Sets an agent's registry `status`; true when it changed (an unknown agent is left alone). */
export function setAgentStatus(layout: Layout, name: string, status: AgentHealth): Promise<boolean> {
  return updateStateFile<Registry, boolean>(layout.registryFile, EMPTY_REGISTRY, (registry) => {
    const agent = registry.agents?.[name];
    // No write when nothing changes: every write wakes the router's registry watcher.
    if (!agent || agent.status === status) return { result: false };
    return { value: { ...registry, agents: { ...registry.agents, [name]: { ...agent, status } } }, result: true };
  });
}

/** Points an agent at its new pane (after the old one vanished and was made again) on the tmux server instance it was made on. */
export function setAgentPane(layout: Layout, name: string, paneId: string, server: string | undefined): Promise<void> {
  return updateStateFile<Registry>(layout.registryFile, EMPTY_REGISTRY, (registry) => {
    const agent = registry.agents?.[name];
    if (!agent || (agent.tmux === paneId && agent.tmux_server === server)) return { result: undefined };
    const next = { ...agent, tmux: paneId };
    if (server) next.tmux_server = server;
    else delete next.tmux_server;
    return { value: { ...registry, agents: { ...registry.agents, [name]: next } }, result: undefined };
  });
}

/** Changes one team's record in the team state (what `up` made), e.g. to add a scaled agent's window. */
export function updateTeamRecord(layout: Layout, file: string, change: (team: TeamState['teams'][string]) => TeamState['teams'][string]): Promise<void> {
  return updateStateFile<TeamState>(layout.teamFile, EMPTY_TEAMS, (state) => {
    const team = state.teams?.[file];
    if (!team) return { result: undefined };
    return { value: { teams: { ...state.teams, [file]: change(team) } }, result: undefined };
  });
}
