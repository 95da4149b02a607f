import type { Layout } from '../bus/layout.js';
import type { AgentRecord } from '../bus/registry.js';
import { acquireTmuxClient, releaseTmuxClient } from '../tmux/client.js';
import { captureScreen, readPaneInfo, resolvePaneId } from '../tmux/pane-info.js';
import { agentStateOf, type KnownState } from './agent-state.js';
import { readReportedState } from './agent-state-store.js';
import { paneProfile } from './pane-profile.js';
import { loadProfileSet } from './profile-store.js';
import type { AgentState } from './profile-types.js';
import { readScreen } from './screen-reader.js';

/** What an agent's pane shows now, read by its profile. */
export interface ScreenState {
  /** Undefined when the profile reads nothing from screens (readline, shell) or recognises nothing there. */
  state?: AgentState;
  /** The profile the pane is read by (`auto` resolved, by the pane's processes where it decides). */
  profile: string;
}

/**
 * Reads the pane of every agent that has one (one capture each) and what its
 * profile recognises there: `status` and `monitor` show it where the CLI has
 * no hooks (opencode) or its hooks have not spoken yet. A pane that cannot be
 * read (dead, missing, no tmux server) is left out.
 */
export async function readScreenStates(layout: Layout, agents: readonly AgentRecord[], socket?: string): Promise<Map<string, ScreenState>> {
  const out = new Map<string, ScreenState>();
  const withPanes = agents.filter((a) => a.tmux);
  if (withPanes.length === 0) return out;
  const profiles = loadProfileSet(layout);
  await Promise.all(withPanes.map(async (agent) => {
    const client = acquireTmuxClient(agent.tmux_socket ?? socket);
    try {
      const paneId = await resolvePaneId(client, agent.tmux!);
      const info = paneId ? await readPaneInfo(client, paneId) : undefined;
      if (!paneId || !info || info.dead) return;
      const profile = paneProfile(agent, profiles, info.pid);
      const screen = profile.screen ? await captureScreen(client, paneId) : undefined;
      const reading = screen === undefined ? undefined : readScreen(profile, screen).state;
      out.set(agent.name, { profile: profile.name, ...(reading && reading !== 'unknown' ? { state: reading } : {}) });
    } catch {
      // No tmux server, a pane gone mid-read: nothing to say about this one.
    } finally {
      releaseTmuxClient(client);
    }
  }));
  return out;
}

/** Each agent's state by the one rule (agent-state.ts), with its screen read, and the profile its pane is read by. */
export async function currentAgentStates(layout: Layout, agents: readonly AgentRecord[], socket?: string): Promise<Map<string, { known?: KnownState; profile?: string }>> {
  const screens = await readScreenStates(layout, agents, socket);
  return new Map(agents.map((agent) => {
    const screen = screens.get(agent.name);
    const known = agentStateOf(agent, readReportedState(layout, agent.name), screen?.state);
    const profile = screen?.profile ?? agent.profile;
    return [agent.name, { ...(known ? { known } : {}), ...(profile ? { profile } : {}) }];
  }));
}
