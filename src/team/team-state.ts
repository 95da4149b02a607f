import type { Layout } from '../bus/layout.js';
import { readStateFile, updateStateFile } from '../bus/state-file.js';
import type { SessionLimits } from './resource-types.js';

/** What `up` made for one topology file, so `down` kills only that and checkpoints know the panes. */
export interface TeamRecord {
  /** Absolute path of the topology file. */
  file: string;
  name: string;
  /** tmux `-L` socket the team lives on; absent: the default server. */
  socket?: string;
  /** The tmux server instance (`<pid>:<start_time>`) the ids below belong to: tmux reuses ids after a server restart. */
  tmux_server?: string;
  /** The checkpoint file a restore built this from (so a second restore of it knows it is done). */
  restored_from?: string;
  /** True when the supervisor's recovery after a tmux server death made it. */
  recovered?: boolean;
  updated: string;
  /** `created: false` marks a session that existed before `up` (it is never killed, only the windows up added). */
  sessions: Array<{ name: string; id: string; created: boolean }>;
  windows: Array<{ session: string; name: string; id: string; created: boolean }>;
  panes: Array<{ id: string; session: string; window: string; index: number; agent?: string; title?: string; command?: string; cwd: string }>;
  agents: string[];
  /** The topology's `resource_management.session_limits`, for `status` and `monitor` (absent: none). */
  session_limits?: SessionLimits;
}

export interface TeamState {
  teams: Record<string, TeamRecord>;
}

const EMPTY: TeamState = { teams: {} };

export function readTeamState(layout: Layout): TeamState {
  const state = readStateFile<TeamState>(layout.teamFile, EMPTY);
  return { teams: state.teams ?? {} };
}

export async function saveTeam(layout: Layout, record: TeamRecord): Promise<void> {
  await updateStateFile<TeamState>(layout.teamFile, EMPTY, (state) => ({
    value: { teams: { ...state.teams, [record.file]: record } },
    result: undefined,
  }));
}

export async function forgetTeam(layout: Layout, file: string): Promise<void> {
  await updateStateFile<TeamState>(layout.teamFile, EMPTY, (state) => {
    const teams = { ...state.teams };
    delete teams[file];
    return { value: { teams }, result: undefined };
  });
}
