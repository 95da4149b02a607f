import fs from 'node:fs';
import { unlessFsRace, UsageError } from '../bus/errors.js';
import type { Envelope } from '../bus/envelope.js';
import { newId } from '../bus/ids.js';
import type { Layout } from '../bus/layout.js';
import { assertName, defaultSender, parseAddress } from '../bus/names.js';
import { send } from '../client/send.js';
import { parseJsonOrUndefined } from '../bus/json-scan.js';

/**
 * Shared knowledge: patterns one agent learnt that others should know, kept
 * in a durable append-only NDJSON file (`knowledge.ndjson` in the bus root)
 * and sent as `knowledge` messages to the sessions that care.
 */

export interface KnowledgeRecord {
  id: string;
  /** ISO 8601. */
  ts: string;
  text: string;
  tags: string[];
  project?: string;
  /** Who shared it. */
  source: string;
}

export interface NewKnowledge {
  text: string;
  tags?: string[];
  project?: string;
  /** The sharer; default `defaultSender()`: `$BMAD_AGENT`, else `user`. */
  from?: string;
}

/** The body of a `knowledge` message. */
export type KnowledgeMessageBody = KnowledgeRecord;

/** Lowercase names, like agent names: `webrtc`, `flaky-tests`. Duplicates dropped. */
export function normalizeTags(tags: readonly string[]): string[] {
  const out = tags
    .flatMap((t) => t.split(','))
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '');
  for (const tag of out) assertName(tag, 'tag');
  return [...new Set(out)];
}

/**
 * Appends one record and fsyncs it before returning: once this resolves, the
 * record survives a crash. One `write` of one line on an O_APPEND fd, so
 * concurrent writers never interleave within a line.
 */
export function recordKnowledge(layout: Layout, input: NewKnowledge): KnowledgeRecord {
  const text = typeof input.text === 'string' ? input.text.trim() : '';
  if (text === '') throw new UsageError('Nothing to share: the text is empty');
  const source = input.from ?? defaultSender();
  assertName(source, 'sender name');
  if (input.project !== undefined) assertName(input.project, 'project name');
  const record: KnowledgeRecord = {
    id: newId(),
    ts: new Date().toISOString(),
    text,
    tags: normalizeTags(input.tags ?? []),
    ...(input.project !== undefined ? { project: input.project } : {}),
    source,
  };
  const fd = fs.openSync(layout.knowledgeFile, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  try {
    fs.writeSync(fd, `${JSON.stringify(record)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return record;
}

export interface ShareOutcome {
  record: KnowledgeRecord;
  /** The `knowledge` message sent to each recipient. */
  messages: Envelope[];
}

/**
 * Records a piece of knowledge, then sends it as a `knowledge` message to
 * each recipient (the caller picks them, e.g. the project sessions whose
 * topology tags match). Recorded first: a failed send loses no knowledge.
 *
 * @example
 * await shareKnowledge(layout, { text: 'Use TURN over TCP behind the proxy', tags: ['webrtc'], from: 'dev-1' }, ['sm-webrtc', 'sm-voice']);
 */
export async function shareKnowledge(layout: Layout, input: NewKnowledge, recipients: readonly string[]): Promise<ShareOutcome> {
  const to = [...new Set(recipients)];
  // Any address the router resolves: an agent, `*`, `role:R`, `group:G`, `leader:G`.
  for (const address of to) parseAddress(address);
  const record = recordKnowledge(layout, input);
  const body: KnowledgeMessageBody = record;
  const messages = to.length > 0 ? await send(layout, to.map((name) => ({ from: record.source, to: name, type: 'knowledge', body }))) : [];
  return { record, messages };
}

export interface KnowledgeQuery {
  tag?: string;
  project?: string;
  /** Words that must all appear (any case) in the record's text, tags or sharer. */
  text?: string;
}

/**
 * The records, oldest first, optionally with a tag and/or of a project (a
 * record without a project is shared with every project). A torn last line
 * (a crash mid-append) is skipped.
 */
export function listKnowledge(layout: Layout, query: KnowledgeQuery = {}): KnowledgeRecord[] {
  const text = unlessFsRace(() => fs.readFileSync(layout.knowledgeFile, 'utf8'), undefined, ['ENOENT']);
  if (text === undefined) return [];
  const tag = query.tag?.trim().toLowerCase();
  const words = (query.text ?? '').toLowerCase().split(/\s+/).filter((w) => w !== '');
  const out: KnowledgeRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const record = parseJsonOrUndefined<KnowledgeRecord>(line);
    if (typeof record?.text !== 'string' || !Array.isArray(record.tags)) continue;
    if (tag !== undefined && !record.tags.includes(tag)) continue;
    if (query.project !== undefined && record.project !== undefined && record.project !== query.project) continue;
    if (words.length > 0) {
      const haystack = [record.text, ...record.tags, record.source].join(' ').toLowerCase();
      if (!words.every((w) => haystack.includes(w))) continue;
    }
    out.push(record);
  }
  return out;
}
