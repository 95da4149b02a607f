import path from 'node:path';
import type { Layout } from '../bus/layout.js';
import { defaultSender } from '../bus/names.js';
import { readRegistry, type Registry } from '../bus/registry.js';
import { normalizeTags, shareKnowledge, type NewKnowledge, type ShareOutcome } from './knowledge.js';
import { loadTopology } from './topology.js';
import type { Topology } from './topology-types.js';
import { readTeamState } from './team-state.js';

/**
 * Who a piece of knowledge goes to on a running team, and sharing it with
 * them: what `bmad-bus share` and the MCP server's `share_knowledge` do.
 */

/** One session that gets the knowledge, and its agents. */
export interface ShareTarget {
  session: string;
  project?: string;
  tags: string[];
  agents: string[];
}

/**
 * The sessions a piece of knowledge goes to: every session whose tags (its
 * own and its project's) share a tag with it, and with `project`, every
 * session of that project too. Its agents are the topology's plus agents
 * registered for that project since (scaled up from a template). Pure.
 */
export function shareTargets(topologies: readonly Topology[], registry: Registry, tags: readonly string[], project: string | undefined, from: string): ShareTarget[] {
  const wanted = new Set(tags);
  const targets: ShareTarget[] = [];
  for (const topology of topologies) {
    for (const session of topology.sessions) {
      const sessionTags = [...new Set([...session.tags, ...(session.project ? (topology.projects[session.project]?.tags ?? []) : [])])];
      const byTag = sessionTags.some((t) => wanted.has(t));
      const byProject = project !== undefined && session.project === project;
      if (!byTag && !byProject) continue;
      const agents = new Set(session.windows.flatMap((w) => w.panes.flatMap((p) => (p.agent ? [p.agent.name] : []))));
      if (session.project) {
        for (const agent of Object.values(registry.agents)) if (agent.project === session.project && agent.owner === topology.file) agents.add(agent.name);
      }
      agents.delete(from);
      targets.push({ session: session.name, ...(session.project ? { project: session.project } : {}), tags: sessionTags, agents: [...agents].sort() });
    }
  }
  return targets;
}

/** The topology files of the teams up on this bus (or the ones given), loaded. */
export function teamTopologies(layout: Layout, files: readonly string[] | undefined): Topology[] {
  const list = files && files.length > 0 ? files.map((f) => path.resolve(f)) : Object.keys(readTeamState(layout).teams).filter((f) => !f.startsWith('checkpoint:'));
  return list.map((f) => loadTopology(f));
}

export interface TeamShareOptions extends NewKnowledge {
  /** Topology files to match against; default: the teams up on this bus. */
  topology?: readonly string[];
}

export interface TeamShareOutcome extends ShareOutcome {
  sessions: ShareTarget[];
  recipients: string[];
}

/** Records the knowledge and sends it to every agent of the sessions it matches (the sharer excluded). */
export async function shareWithTeam(layout: Layout, input: TeamShareOptions): Promise<TeamShareOutcome> {
  const { topology, ...knowledge } = input;
  const from = knowledge.from ?? defaultSender();
  const tags = normalizeTags(knowledge.tags ?? []);
  const sessions = shareTargets(teamTopologies(layout, topology), readRegistry(layout), tags, knowledge.project, from);
  const recipients = [...new Set(sessions.flatMap((t) => t.agents))];
  const outcome = await shareKnowledge(layout, { ...knowledge, tags, from }, recipients);
  return { ...outcome, sessions, recipients };
}
