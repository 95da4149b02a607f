import { UnknownAgentError, UsageError } from '../bus/errors.js';
import type { Layout } from '../bus/layout.js';
import { readRegistry, removeAgent } from '../bus/registry.js';
import { tryTmux } from '../tmux/plain.js';
import { forgetTeam, readTeamState, type TeamRecord } from './team-state.js';
import { endPaneProcesses, panesOf, type PaneProcess } from './pane-processes.js';

export interface DownResult {
  killedSessions: string[];
  killedWindows: string[];
  removedAgents: string[];
  teams: string[];
}

/**
 * Takes down what `up` made for a topology file (or every team with `all`):
 * kills the sessions it created — checked by id and name, so a session it did
 * not make is never touched — and, in sessions that existed before, only the
 * windows it added. The agents the file owns are unregistered first. The
 * panes' whole process trees are ended by pid (pane-processes.ts), so an
 * agent's detached helpers do not outlive the team.
 */
export async function down(layout: Layout, options: { file?: string | undefined; all?: boolean; socket?: string | undefined }): Promise<DownResult> {
  const teams = Object.values(readTeamState(layout).teams);
  let chosen: TeamRecord[];
  if (options.all) chosen = teams;
  else if (options.file) {
    const team = teams.find((t) => t.file === options.file);
    if (!team) throw new UsageError(`No team was brought up from ${options.file} on this bus (teams: ${teams.map((t) => t.file).join(', ') || 'none'})`);
    chosen = [team];
  } else if (teams.length === 1) chosen = teams;
  else if (teams.length === 0) chosen = [];
  else throw new UsageError(`Several teams are up; name one (bmad-bus down FILE) or use --all: ${teams.map((t) => t.file).join(', ')}`);

  const result: DownResult = { killedSessions: [], killedWindows: [], removedAgents: [], teams: chosen.map((t) => t.file) };
  for (const team of chosen) {
    const socket = team.socket ?? options.socket;
    // Unregister first: a supervisor that still saw the agents would bring
    // their panes back between the kills below.
    const registry = readRegistry(layout);
    for (const agent of Object.values(registry.agents)) {
      if (agent.owner !== team.file) continue;
      try {
        await removeAgent(layout, agent.name);
        result.removedAgents.push(agent.name);
      } catch (error) {
        if (!(error instanceof UnknownAgentError)) throw error;
      }
    }
    await forgetTeam(layout, team.file);
    const tmux = (args: string[]) => tryTmux(args, { socket });
    const sessions: Array<{ id: string; name: string }> = [];
    const windows: Array<{ id: string; label: string }> = [];
    const panes: PaneProcess[] = [];
    for (const session of team.sessions) {
      if (!session.created) continue;
      const name = await tmux(['display-message', '-p', '-t', session.id, '#{session_id}\t#{session_name}']);
      // The id must still name the same session: ids are reused after a server restart.
      if (name !== `${session.id}\t${session.name}`) continue;
      sessions.push(session);
      panes.push(...(await panesOf(tmux, session.id, 'session')));
    }
    for (const window of team.windows) {
      const ownSession = team.sessions.find((s) => s.name === window.session);
      if (!window.created || ownSession?.created) continue;
      const name = await tmux(['display-message', '-p', '-t', window.id, '#{window_id}\t#{window_name}']);
      if (name !== `${window.id}\t${window.name}`) continue;
      windows.push({ id: window.id, label: `${window.session}:${window.name}` });
      panes.push(...(await panesOf(tmux, window.id, 'window')));
    }
    // Before the kills: while the panes' programs live, their descendants are still theirs to find.
    await endPaneProcesses(panes);
    for (const session of sessions) if ((await tmux(['kill-session', '-t', session.id])) !== undefined) result.killedSessions.push(session.name);
    for (const window of windows) if ((await tmux(['kill-window', '-t', window.id])) !== undefined) result.killedWindows.push(window.label);
  }
  return result;
}
