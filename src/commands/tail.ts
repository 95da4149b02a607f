import fs from 'node:fs';
import { parseDuration } from '../bus/duration.js';
import { decodeJournalLine, type Envelope } from '../bus/envelope.js';
import { unlessFsRace, UsageError } from '../bus/errors.js';
import { readRegistry } from '../bus/registry.js';
import { openRoot } from '../bus/root.js';
import type { DeadLetter } from '../journal/dead-letters.js';
import { followFile, followJournal } from '../journal/follow.js';
import { lastMessages } from '../journal/last-messages.js';
import { journalEnd, listSegments } from '../journal/segments.js';
import { rootOf, useColor, type GlobalOptions } from './context.js';
import { formatDeadLetter, formatEnvelope } from './format.js';
import { parseJsonOrUndefined } from '../bus/json-scan.js';

export interface TailOptions extends GlobalOptions {
  from?: string;
  to?: string;
  type?: string;
  since?: string;
  lines?: string;
  follow?: boolean;
  json?: boolean;
}

type Entry = { kind: 'message'; envelope: Envelope; raw: string } | { kind: 'dead'; record: DeadLetter; raw: string };

/** `bmad-bus tail`: the debugging view of all traffic, including dead letters. */
export async function tailCommand(options: TailOptions): Promise<void> {
  const layout = openRoot(rootOf(options));
  const sinceMs = options.since !== undefined ? Date.now() - parseDuration(options.since, '--since') : undefined;
  let count = options.lines === undefined ? (sinceMs !== undefined ? Infinity : 10) : Number(options.lines);
  if (!Number.isInteger(count) && count !== Infinity) throw new UsageError(`Expected -n to be a whole number, got \`${options.lines}\``);
  if (count < 0) count = 0;
  const matches = (e: Envelope): boolean =>
    (options.from === undefined || e.from === options.from) &&
    (options.to === undefined || e.to === options.to || e.rcpt === options.to) &&
    (options.type === undefined || e.type === options.type) &&
    (sinceMs === undefined || Date.parse(e.ts) >= sinceMs);
  const showDead = options.from === undefined && options.to === undefined && options.type === undefined;
  const deadMatches = (d: DeadLetter): boolean => sinceMs === undefined || Date.parse(d.ts) >= sinceMs;

  const colour = useColor();
  // Which agents live on other machines: the registry, read again when it changes (the bridge keeps it).
  let machines = { mtime: -1, of: new Map<string, string>() };
  const machineOf = (name: string): string | undefined => {
    const mtime = unlessFsRace(() => fs.statSync(layout.registryFile).mtimeMs, 0, ['ENOENT']);
    if (mtime !== machines.mtime) {
      const agents = Object.values(readRegistry(layout).agents);
      machines = { mtime, of: new Map(agents.flatMap((a) => (a.machine ? [[a.name, a.machine] as [string, string]] : []))) };
    }
    return machines.of.get(name);
  };
  const print = (entry: Entry): void => {
    const text = options.json
      ? entry.kind === 'message'
        ? entry.raw
        : JSON.stringify({ dead_letter: entry.record })
      : entry.kind === 'message'
        ? formatEnvelope(entry.envelope, colour, width(), machineOf)
        : formatDeadLetter(entry.record, colour, width());
    process.stdout.write(`${text}\n`);
  };

  const journalStop = journalEnd(layout.journalDir);
  const deadStop = fileSize(layout.deadLetterFile);
  if (count > 0) {
    const past: Entry[] = [
      ...lastEntries(layout.journalDir, journalStop, count, matches, sinceMs),
      ...(showDead ? lastDeadLetters(layout.deadLetterFile, deadStop, count, deadMatches) : []),
    ].sort((a, b) => tsOf(a).localeCompare(tsOf(b)));
    for (const entry of count === Infinity ? past : past.slice(-count)) print(entry);
  }
  if (options.follow === false) return;

  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const followMessages = (async () => {
    for await (const line of followJournal(layout.journalDir, journalStop, { signal: controller.signal })) {
      const envelope = decodeJournalLine(line.line);
      if (matches(envelope)) print({ kind: 'message', envelope, raw: line.line });
    }
  })();
  const followDead = (async () => {
    if (!showDead) return;
    for await (const raw of followFile(layout.deadLetterFile, deadStop, { signal: controller.signal })) {
      const record = parseDead(raw);
      if (record) print({ kind: 'dead', record, raw });
    }
  })();
  await Promise.all([followMessages, followDead]);
}

function tsOf(entry: Entry): string {
  return entry.kind === 'message' ? entry.envelope.ts : entry.record.ts;
}

/** The last `count` matching messages before `end`, reading backwards in growing windows. */
function lastEntries(dir: string, end: number, count: number, matches: (e: Envelope) => boolean, sinceMs?: number): Entry[] {
  let lowest: number | undefined;
  if (sinceMs !== undefined) {
    // A segment last written before --since holds only older messages.
    const recent = listSegments(dir).find((s) => s.mtimeMs >= sinceMs);
    lowest = recent ? recent.start : end;
  }
  return lastMessages(dir, end, count, matches, lowest).map((m) => ({ kind: 'message', envelope: m.envelope, raw: m.line }));
}

function lastDeadLetters(file: string, end: number, count: number, matches: (d: DeadLetter) => boolean): Entry[] {
  if (end === 0) return [];
  const text = fs.readFileSync(file, 'utf8').slice(0, end);
  const entries: Entry[] = [];
  for (const raw of text.split('\n')) {
    const record = raw ? parseDead(raw) : undefined;
    if (record && matches(record)) entries.push({ kind: 'dead', record, raw });
  }
  return count === Infinity ? entries : entries.slice(-count);
}

function parseDead(raw: string): DeadLetter | undefined {
  return parseJsonOrUndefined<DeadLetter>(raw);
}

function fileSize(file: string): number {
  return unlessFsRace(() => fs.statSync(file).size, 0, ['ENOENT']);
}

function width(): number {
  return Math.max(40, (process.stdout.columns ?? 160) - 60);
}
