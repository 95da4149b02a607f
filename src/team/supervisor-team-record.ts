import type { PaneStart } from './pane-start.js';
import type { MadePane } from './supervisor-panes.js';
import type { SupervisorContext } from './supervisor-context.js';
import { updateTeamRecord } from './supervisor-state.js';

/** A pane the supervisor made (a restart into a new pane, a scaled agent) and where. */
export interface PlacedPane {
  agent: string;
  session: string;
  windowName: string;
  made: MadePane;
  start: PaneStart;
  index: number;
}

/** Keeps the team state true to tmux, so `down` removes what the supervisor made. */
export async function recordPane(ctx: SupervisorContext, placed: PlacedPane): Promise<void> {
  const { agent, session, windowName, made, start, index } = placed;
  const sessionId = made.made === 'session' ? await ctx.client.tryCommand(['display-message', '-p', '-t', made.windowId, '#{session_id}']) : undefined;
  await updateTeamRecord(ctx.layout, ctx.options.topology.file, (t) => ({
    ...t,
    updated: new Date().toISOString(),
    sessions: sessionId ? [...t.sessions.filter((s) => s.name !== session), { name: session, id: sessionId, created: true }] : t.sessions,
    windows: made.made !== 'pane' ? [...t.windows.filter((w) => !(w.session === session && w.name === windowName)), { session, name: windowName, id: made.windowId, created: true }] : t.windows,
    panes: [
      ...t.panes.filter((p) => p.agent !== agent),
      { id: made.paneId, session, window: windowName, index, agent, ...(start.command ? { command: start.command } : {}), cwd: start.cwd ?? process.cwd() },
    ],
    agents: t.agents.includes(agent) ? t.agents : [...t.agents, agent],
  }));
}
