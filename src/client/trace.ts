import fs from 'node:fs';
import { AddressBook, consumerKindOf, consumerOf, type ConsumerKind } from '../bus/address-book.js';
import { readTrail, type TrailRecord } from '../bus/delivery-trail.js';
import { decodeJournalLine, type Envelope } from '../bus/envelope.js';
import { UsageError, unlessFsRace } from '../bus/errors.js';
import { parseJsonOrUndefined } from '../bus/json-scan.js';
import type { Layout } from '../bus/layout.js';
import { readRegistry } from '../bus/registry.js';
import { readCursors } from '../journal/cursors.js';
import type { DeadLetter } from '../journal/dead-letters.js';
import { journalLines } from '../journal/reader.js';
import { readLiveRouterStatus, type RouterStatus } from '../router/router-status.js';

/** Where one recipient's copy of a message stands, by one of its consumers. */
export interface RecipientTrace {
  agent: string;
  /** `inbox` (the FIFO), `tmux` (typed into the pane) or `hooks` (handed over by the agent's hooks). */
  via: ConsumerKind;
  /**
   * - `pending`: the router has not handed it on yet (`waiting` says why, when a router runs);
   * - `delivered`: written into the inbox FIFO (the reader took the bytes, or holds them in the pipe);
   * - the furthest pane step otherwise: `typed`, `retry`, `unconfirmed`, `submitted`, `received` (a retried message that was submitted later is `submitted`);
   * - the furthest hook step under `hooks`: `nudged`, `handed`, `received`;
   * - `passed`: the cursor is past it, and no steps were recorded (typed by a router before trails existed, or the trail was pruned).
   */
  state: 'pending' | 'delivered' | 'passed' | TrailRecord['stage'];
  steps: TrailRecord[];
  waiting?: string;
}

export interface MessageTrace {
  envelope: Envelope;
  /** The journal took it (the envelope's stamp) and where it sits. */
  queued: { at: string; offset: number };
  recipients: RecipientTrace[];
  /** Set when the router dead-lettered it (its recipient was unknown, for one). */
  dead_letter?: { ts: string; reason: string; error: string };
}

/**
 * A message's way through the bus: queued in the journal, then per recipient
 * and consumer, the steps the router recorded (the pane's trail) or where its
 * cursor stands. Recipients are resolved with today's registry: an agent
 * removed since is not shown.
 */
export function traceMessage(layout: Layout, id: string): MessageTrace {
  const found = findMessage(layout, id);
  if (!found) throw new UsageError(`No message with id \`${id}\` in the journal (pruned, or never accepted; see \`bmad-bus tail --dead\`)`);
  const { envelope, offset } = found;
  const registry = readRegistry(layout);
  const book = new AddressBook(registry);
  const live = readLiveRouterStatus(layout);
  const cursors = consumerPositions(layout, live);
  const recipients: RecipientTrace[] = [];
  for (const agent of book.recipients(envelope).agents) {
    for (const consumer of book.consumersOf(agent)) {
      const via = consumerKindOf(consumer);
      const passed = (cursors.get(consumer) ?? 0) > offset;
      const steps = via === 'inbox' ? [] : readTrail(layout, agent, envelope.id);
      const state: RecipientTrace['state'] = furthest(steps) ?? (!passed ? 'pending' : via === 'inbox' ? 'delivered' : 'passed');
      const waiting = !passed && state !== 'received' ? live?.agents[agent]?.consumers[via]?.waiting : undefined;
      recipients.push({ agent, via, state, steps, ...(waiting ? { waiting } : {}) });
    }
  }
  const dead = deadLetterOf(layout, envelope.id);
  return { envelope, queued: { at: envelope.ts, offset }, recipients, ...(dead ? { dead_letter: dead } : {}) };
}

/**
 * How far a message got: the hook's receipt can come before the screen shows
 * the submission (the CLI runs its prompt hook at once), so the state is the
 * furthest step recorded, not the last one written.
 */
const STAGE_RANK: Record<TrailRecord['stage'], number> = { typed: 0, nudged: 0, retry: 1, unconfirmed: 2, submitted: 3, handed: 3, received: 4 };

function furthest(steps: readonly TrailRecord[]): TrailRecord['stage'] | undefined {
  let best: TrailRecord['stage'] | undefined;
  for (const { stage } of steps) if (best === undefined || STAGE_RANK[stage] >= STAGE_RANK[best]) best = stage;
  return best;
}

/** The journaled message with this id: a scan, with a substring test before any parse. */
function findMessage(layout: Layout, id: string): { envelope: Envelope; offset: number } | undefined {
  const needle = `"id":${JSON.stringify(id)}`;
  for (const line of journalLines(layout.journalDir, 0)) {
    if (!line.line.includes(needle)) continue;
    const envelope = decodeJournalLine(line.line);
    if (envelope.id === id) return { envelope, offset: line.offset };
  }
  return undefined;
}

/** Each consumer's cursor: the router's live report where it runs (fresher), else the saved cursors. */
function consumerPositions(layout: Layout, live: RouterStatus | undefined): Map<string, number> {
  const positions = new Map<string, number>(Object.entries(readCursors(layout)));
  for (const [agent, status] of Object.entries(live?.agents ?? {})) {
    for (const [kind, consumer] of Object.entries(status.consumers)) {
      const key = consumerOf(kind as ConsumerKind, agent);
      positions.set(key, Math.max(positions.get(key) ?? 0, consumer.cursor));
    }
  }
  return positions;
}

function deadLetterOf(layout: Layout, id: string): MessageTrace['dead_letter'] {
  const text = unlessFsRace(() => fs.readFileSync(layout.deadLetterFile, 'utf8'), '', ['ENOENT']);
  const needle = JSON.stringify(id);
  for (const line of text.split('\n')) {
    if (!line.includes(needle)) continue;
    const record = parseJsonOrUndefined<DeadLetter>(line);
    if (record?.id === id) return { ts: record.ts, reason: record.reason, error: record.error };
  }
  return undefined;
}
