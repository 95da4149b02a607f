import type { AgentRecord } from '../bus/registry.js';
import type { TeamRecord } from './team-state.js';
import type { PaneStart } from './pane-start.js';
import { restorePromptOf, typeRestorePrompt } from './restore-prompt.js';
import type { SupervisorContext } from './supervisor-context.js';
import { createPane, holdPane, paneStartOf, respawnPane, windowNameOf } from './supervisor-panes.js';
import { readSupervisorState, setAgentPane, setAgentStatus } from './supervisor-state.js';
import { recordPane } from './supervisor-team-record.js';
import { noteRestart, type Watch } from './supervisor-watch.js';

/**
 * One restart of an agent, with its context restored: in its pane when the
 * pane is still there, else in a new pane where it was. The pane is held
 * against the router (`@bmad_hold`) until the restore prompt is in, so the
 * prompt always comes before the backlog the router then delivers.
 */

/** How long a pane stays held past the restore timeout, should the supervisor die while restoring. */
const HOLD_SLACK_MS = 30_000;

export interface RestartRequest {
  agent: AgentRecord;
  /** The agent's own pane, or undefined when it is gone (a new one is made). */
  paneId: string | undefined;
  reason: string;
  team: TeamRecord | undefined;
}

export async function restartAgent(ctx: SupervisorContext, request: RestartRequest, watch: Watch): Promise<void> {
  const { agent, paneId, reason, team } = request;
  const { options } = ctx;
  const now = Date.now();
  noteRestart(watch, now, options.backoffMs);
  await setAgentStatus(ctx.layout, agent.name, 'restarting');
  await ctx.announce({
    event: 'restart', agent: agent.name, attempt: watch.attempts, max_retries: options.maxRetries, reason, pane: paneId ?? 'missing',
  });
  const start = paneStartOf(ctx.layout, agent, agent.tmux_socket ?? options.socket, options.busBin);
  const holdUntil = now + options.restoreTimeoutMs + HOLD_SLACK_MS;
  let pane = paneId;
  if (pane) {
    await holdPane(ctx.client, pane, holdUntil);
    await respawnPane(ctx.client, pane, { ...start, tags: {} });
  } else {
    pane = await recreatePane(ctx, agent, team, start, holdUntil);
  }
  try {
    // The same path as `restore`: settle, then the prompt unless the pane runs a shell or takes no messages.
    const prompt = restorePromptOf(agent, options.topology.supervisor.restore_prompt);
    const outcome = await typeRestorePrompt(ctx.client, pane, agent, prompt, { settleMs: options.restoreSettleMs, timeoutMs: options.restoreTimeoutMs });
    if (outcome.status === 'dead') {
      await setAgentStatus(ctx.layout, agent.name, 'dead');
      return;
    }
    if (outcome.status === 'typed' && !outcome.confirmed) options.log(`restore prompt for ${agent.name}: unconfirmed`);
    if (outcome.status === 'skipped' && prompt) options.log(`no restore prompt for ${agent.name}: ${outcome.reason}`);
    watch.lastChange = Date.now();
    await setAgentStatus(ctx.layout, agent.name, 'running');
  } finally {
    // The router delivers the backlog from its cursor once the hold is gone.
    await holdPane(ctx.client, pane, 0);
  }
}

/** The agent's pane is gone: make a new one where it was (team state says where) and point the registry at it. */
async function recreatePane(ctx: SupervisorContext, agent: AgentRecord, team: TeamRecord | undefined, start: PaneStart, holdUntil: number): Promise<string> {
  const record = team?.panes.find((p) => p.agent === agent.name);
  const scaled = readSupervisorState(ctx.layout).scaled[agent.name];
  const session = record?.session ?? scaled?.session ?? team?.sessions[0]?.name ?? 'bmad-bus';
  const windowName = record?.window ?? windowNameOf(agent.name);
  // Window ids and sessions are the team's only on the server they were recorded on (a record without one predates the check).
  const sameServer = team?.tmux_server === undefined || team.tmux_server === ctx.instance();
  if (!sameServer && (await ctx.client.tryCommand(['has-session', '-t', `=${session}`])) !== undefined) {
    throw new Error(`session ${session} on this tmux server is not the team's (the server restarted): no pane is made in it`);
  }
  const windowId = !sameServer ? undefined : record ? team?.windows.find((w) => w.session === record.session && w.name === record.window)?.id : scaled?.window_id;
  const made = await createPane(ctx.client, { session, windowId, windowName, key: `${session}/${windowName}/${record?.index ?? 0}` }, start);
  await holdPane(ctx.client, made.paneId, holdUntil);
  await setAgentPane(ctx.layout, agent.name, made.paneId, ctx.instance());
  await recordPane(ctx, { agent: agent.name, session, windowName, made, start, index: record?.index ?? 0 });
  return made.paneId;
}
