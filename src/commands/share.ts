import { UsageError } from '../bus/errors.js';
import { formatTimestamp } from '../bus/human-format.js';
import { defaultSender } from '../bus/names.js';
import { openRoot } from '../bus/root.js';
import { renderTable } from '../bus/text-table.js';
import { listKnowledge, normalizeTags, type KnowledgeRecord } from '../team/knowledge.js';
import { shareWithTeam } from '../team/knowledge-share.js';
import { printJson, printLine, rootOf, type GlobalOptions } from './context.js';

export interface ShareCommandOptions {
  tags?: string[];
  project?: string;
  from?: string;
  topology?: string[];
  json?: boolean;
}

/** `bmad-bus share TEXT --tags a,b [--project P] [--from NAME]`. */
export async function shareCommand(words: string[], options: GlobalOptions & ShareCommandOptions): Promise<void> {
  const text = words.join(' ').trim();
  if (text === '') throw new UsageError('Nothing to share: give the text, e.g. bmad-bus share "Use TURN over TCP" --tags webrtc');
  const tags = normalizeTags(options.tags ?? []);
  if (tags.length === 0 && options.project === undefined) throw new UsageError('Say who it is for: --tags a,b and/or --project P');
  const layout = openRoot(rootOf(options));
  const outcome = await shareWithTeam(layout, {
    text,
    tags,
    ...(options.project !== undefined ? { project: options.project } : {}),
    from: options.from ?? defaultSender(),
    ...(options.topology ? { topology: options.topology } : {}),
  });
  const { sessions: targets, recipients } = outcome;
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
