import path from 'node:path';
import { UsageError } from '../bus/errors.js';
import { formatTimestamp } from '../bus/human-format.js';
import type { Layout } from '../bus/layout.js';
import { defaultSender } from '../bus/names.js';
import { readRegistry, type Registry } from '../bus/registry.js';
import { openRoot } from '../bus/root.js';
import { renderTable } from '../bus/text-table.js';
import { listKnowledge, normalizeTags, shareKnowledge, type KnowledgeRecord } from '../team/knowledge.js';
import { loadTopology } from '../team/topology.js';
import type { Topology } from '../team/topology-types.js';
import { readTeamState } from '../team/team-state.js';
import { printJson, printLine, rootOf, type GlobalOptions } from './context.js';

export interface ShareCommandOptions {
  tags?: string[];
  project?: string;
  from?: string;
  topology?: string[];
  json?: boolean;
}

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
function teamTopologies(layout: Layout, files: readonly string[] | undefined): Topology[] {
  const list = files && files.length > 0 ? files.map((f) => path.resolve(f)) : Object.keys(readTeamState(layout).teams).filter((f) => !f.startsWith('checkpoint:'));
  return list.map((f) => loadTopology(f));
}

/** `bmad-bus share TEXT --tags a,b [--project P] [--from NAME]`. */
export async function shareCommand(words: string[], options: GlobalOptions & ShareCommandOptions): Promise<void> {
  const text = words.join(' ').trim();
  if (text === '') throw new UsageError('Nothing to share: give the text, e.g. bmad-bus share "Use TURN over TCP" --tags webrtc');
  const tags = normalizeTags(options.tags ?? []);
  if (tags.length === 0 && options.project === undefined) throw new UsageError('Say who it is for: --tags a,b and/or --project P');
  const layout = openRoot(rootOf(options));
  const from = options.from ?? defaultSender();
  const targets = shareTargets(teamTopologies(layout, options.topology), readRegistry(layout), tags, options.project, from);
  const recipients = [...new Set(targets.flatMap((t) => t.agents))];
  const outcome = await shareKnowledge(layout, { text, tags, ...(options.project !== undefined ? { project: options.project } : {}), from }, recipients);
  if (options.json) {
    printJson({ record: outcome.record, sessions: targets, recipients, messages: outcome.messages.map((m) => m.id) });
    return;
  }
  printLine(`recorded ${outcome.record.id}${tags.length ? ` [${tags.join(',')}]` : ''}`);
  printLine(
    recipients.length > 0
      ? `sent to ${recipients.length} agents in ${targets.map((t) => t.session).join(', ')}: ${recipients.join(', ')}`
      : 'no session of the team matches: recorded only (agents can read it with `bmad-bus knowledge`)',
  );
}

/** `bmad-bus knowledge [--tag T] [--project P] [--json]`. */
export async function knowledgeCommand(options: GlobalOptions & { tag?: string; project?: string; json?: boolean }): Promise<void> {
  const layout = openRoot(rootOf(options));
  const records: KnowledgeRecord[] = listKnowledge(layout, {
    ...(options.tag !== undefined ? { tag: options.tag } : {}),
    ...(options.project !== undefined ? { project: options.project } : {}),
  });
  if (options.json) {
    printJson(records);
    return;
  }
  if (records.length === 0) {
    printLine('no knowledge shared yet');
    return;
  }
  printLine(
    renderTable(
      ['TIME', 'FROM', 'PROJECT', 'TAGS', 'TEXT'],
      records.map((r) => [formatTimestamp(r.ts), r.source, r.project ?? '-', r.tags.join(',') || '-', r.text.replace(/\s+/g, ' ')]),
    ).join('\n'),
  );
}
