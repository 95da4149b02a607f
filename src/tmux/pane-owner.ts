import type { TmuxClient } from './client.js';
import { AGENT_OPTION, resolvePaneId, type PaneInfo } from './pane-info.js';
import { serverInstance } from './server-instance.js';

/**
 * Whose pane the router may type into: the agent's name, and the tmux server
 * instance (`<pid>:<start_time>`, server-instance.ts) it was registered on,
 * when the registry recorded one (`tmux_server`).
 */
export interface PaneOwner {
  agent: string;
  server?: string | undefined;
}

const SAFE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const SAFE_SERVER = /^\d+:\d+$/;

/**
 * Why `info`'s pane is not `owner`'s, or undefined when it is: it must carry
 * the agent's tag, and be on the server instance the agent was registered on.
 * tmux hands out `%0` again after a server restart, so the id alone proves
 * nothing; without a recorded instance the tag alone decides.
 */
export function ownerProblem(info: Pick<PaneInfo, 'id' | 'agentTag' | 'server'>, owner: PaneOwner): string | undefined {
  if (info.agentTag !== owner.agent) {
    return info.agentTag === ''
      ? `pane ${info.id} is not tagged for ${owner.agent} (${AGENT_OPTION} unset)`
      : `pane ${info.id} is tagged for ${info.agentTag}, not ${owner.agent}`;
  }
  if (owner.server !== undefined && info.server !== owner.server) {
    return `pane ${info.id} is on tmux server ${info.server || '?'}, not ${owner.server} where ${owner.agent} was registered`;
  }
  return undefined;
}

/**
 * A tmux format that is `1` when the target pane may not be typed into: it is
 * dead, or (with an owner) not that owner's. The server evaluates it in the
 * same command as the paste or key it guards, so nothing changes in between.
 */
export function refuseCondition(owner: PaneOwner | undefined): string {
  let condition = '#{pane_dead}';
  if (!owner) return condition;
  // Names and instances are checked: a `,` or `}` would change the format's meaning.
  if (!SAFE_NAME.test(owner.agent)) return '1';
  condition = `#{||:${condition},#{!=:#{${AGENT_OPTION}},${owner.agent}}}`;
  if (owner.server === undefined) return condition;
  if (!SAFE_SERVER.test(owner.server)) return '1';
  return `#{||:${condition},#{!=:#{pid}:#{start_time},${owner.server}}}`;
}

/**
 * Marks a pane as `agent`'s (`@bmad_agent`), as `up` does for the panes it
 * makes: for `agents add --tmux`, where the user names the pane. Returns the
 * pane id and the server instance to record, or undefined when no such pane
 * answers.
 */
export async function tagPane(client: TmuxClient, target: string, agent: string): Promise<{ paneId: string; server: string | undefined } | undefined> {
  const paneId = await resolvePaneId(client, target);
  if (!paneId) return undefined;
  if ((await client.tryCommand(['set-option', '-p', '-t', paneId, AGENT_OPTION, agent])) === undefined) return undefined;
  return { paneId, server: await serverInstance(client) };
}
