import type { AgentRecord } from '../bus/registry.js';
import { programsInTree } from './pane-programs.js';
import { AUTO_PROFILE, type ProfileSet } from './profiles.js';
import type { AgentProfile } from './profile-types.js';

/**
 * Whether the agent's profile is read from its pane's processes: `auto`
 * (or none) with a command that names no AI CLI, or no command at all.
 */
export function profileFromPane(agent: AgentRecord, profiles: ProfileSet): boolean {
  return (agent.profile === undefined || agent.profile === AUTO_PROFILE) && !profiles.resolve(agent.profile, agent.command).ai;
}

/**
 * The one rule for the profile an agent's pane is typed into and read by: a
 * named profile, or the one its command names, or (profileFromPane) the one
 * its pane's process tree calls for (`panePid`), falling back to its command's.
 */
export function paneProfile(agent: AgentRecord, profiles: ProfileSet, panePid: number | undefined): AgentProfile {
  const byCommand = profiles.resolve(agent.profile, agent.command);
  if (panePid === undefined || !profileFromPane(agent, profiles)) return byCommand;
  return profiles.detectInTree(programsInTree(panePid)) ?? byCommand;
}
