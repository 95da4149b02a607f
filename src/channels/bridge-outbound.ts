import fs from 'node:fs';
import type { JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { AddressBook } from '../bus/address-book.js';
import { decodeJournalLine, serialize, type Envelope } from '../bus/envelope.js';
import { unlessFsRace } from '../bus/errors.js';
import { writeReport } from '../bus/fs-safety.js';
import type { Layout } from '../bus/layout.js';
import { readRegistry } from '../bus/registry.js';
import { readStateFile } from '../bus/state-file.js';
import { followJournalBatches, journalEnd } from '../journal/follow.js';
import type { BridgeArrivals } from './bridge-arrivals.js';
import { journalLines } from '../journal/reader.js';

/** The subject a machine's bridge consumes: `<stream>.to.<machine>`. */
export const machineSubject = (stream: string, machine: string): string => `${stream}.to.${machine}`;
/** The header naming the machine a message was published from (checked against the directory on arrival). */
export const MACHINE_HEADER = 'Bmad-Machine';

/** Publishes awaiting their ack at once: enough to keep a loopback link busy, few enough to re-publish cheaply after a failure. */
const MAX_IN_FLIGHT = 256;

interface InFlight {
  end: number;
  done: boolean;
  /** The id of a message the inbound side journaled: forgotten by the arrivals once the cursor is past it. */
  arrival?: string;
}

/**
 * The bridge's outbound side: follows the local journal from its own durable
 * cursor, like any consumer, and publishes every message with recipients on
 * other machines to each such machine's subject, `Nats-Msg-Id` set to the
 * envelope id (`<id>@<machine>` when it goes to several machines: JetStream
 * de-duplicates by id across the whole stream), so a re-publish after a
 * crash or a lost ack is dropped by JetStream. The cursor moves past a line
 * only once every publish of it and of the lines before it was acked.
 * Messages that came from other machines are never sent back out.
 *
 * While NATS is unreachable the publishes fail, the pass ends, and the next
 * one starts again from the cursor: the messages wait in the journal, and
 * go out in journal order (so in order per sender) once NATS is back.
 */
export class BridgeOutbound {
  cursor: number;
  published = 0;
  /** Messages read and bound elsewhere whose publish is not acked yet. */
  inFlight = 0;
  private book: AddressBook;
  private registryMtime = -1;

  constructor(
    private readonly layout: Layout,
    private readonly stream: string,
    private readonly machine: string,
    /** What the inbound side journaled from NATS: never published back out. */
    private readonly arrivals: BridgeArrivals,
  ) {
    this.cursor = readStateFile<{ cursor?: number }>(layout.bridgeCursorFile, {}).cursor ?? journalEnd(layout.journalDir);
    this.book = new AddressBook(readRegistry(layout));
  }

  /** One pass from the cursor until `signal` aborts or a publish fails (then it throws, and the caller ends the connection: see runBridge). */
  async pass(js: JetStreamClient, signal: AbortSignal): Promise<void> {
    const failed = new AbortController();
    let failure: unknown;
    const stop = (): void => failed.abort();
    signal.addEventListener('abort', stop, { once: true });
    const queue: InFlight[] = [];
    // Woken when the queue has room again or the pass fails: the wait at the in-flight limit is for acks, not a timer.
    let room: (() => void) | undefined;
    failed.signal.addEventListener('abort', () => room?.(), { once: true });
    const settle = (): void => {
      while (queue[0]?.done) {
        const entry = queue.shift()!;
        this.cursor = entry.end;
        if (entry.arrival !== undefined) this.arrivals.take(entry.arrival);
      }
      // Half the window free before the next publishes: they then go out together, in one socket write.
      if (queue.length <= MAX_IN_FLIGHT / 2) room?.();
    };
    const acked = (entry: InFlight) => (): void => {
      entry.done = true;
      this.inFlight--;
      this.published++;
      settle();
    };
    const refused = (error: unknown): void => {
      failure ??= error;
      failed.abort();
    };
    try {
      for await (const lines of followJournalBatches(this.layout.journalDir, this.cursor, { signal: failed.signal })) {
        this.refreshBook();
        // A batch's publishes are made without a pause between them: the client writes them to its socket in one go.
        for (const line of lines) {
          if (failed.signal.aborted) break;
          const envelope = decodeJournalLine(line.line);
          const targets = this.targets(envelope);
          const entry: InFlight = { end: line.end, done: targets.length === 0, ...(this.arrivals.has(envelope.id) ? { arrival: envelope.id } : {}) };
          queue.push(entry);
          if (!entry.done) {
            this.inFlight++;
            const publishes = targets.map(({ machine, payload, msgID }) => {
              // Its own headers each: the client adds the Nats-Msg-Id to them.
              const headers = natsHeaders();
              headers.set(MACHINE_HEADER, this.machine);
              return js.publish(machineSubject(this.stream, machine), payload, { msgID, headers });
            });
            void (publishes.length === 1 ? publishes[0]! : Promise.all(publishes)).then(acked(entry), refused);
          }
          if (queue.length >= MAX_IN_FLIGHT) {
            settle();
            while (queue.length >= MAX_IN_FLIGHT && !failed.signal.aborted) {
              await new Promise<void>((resolve) => (room = resolve));
              room = undefined;
            }
          }
        }
        settle();
      }
    } finally {
      signal.removeEventListener('abort', stop);
      this.inFlight = 0;
      this.saveCursor();
    }
    if (failure !== undefined) throw failure;
  }

  /** Persists the cursor (the caller does so now and then, and at exit). */
  saveCursor(): void {
    this.arrivals.compact();
    writeReport(this.layout.bridgeCursorFile, `${JSON.stringify({ cursor: this.cursor, updated: new Date().toISOString() })}\n`);
  }

  /**
   * Where a message goes beyond this machine: one publish per machine that
   * has a recipient. A `role:` message the router resolved (`rcpt`) goes to
   * the chosen agent's machine addressed to that agent, so the choice never
   * changes there.
   */
  private targets(envelope: Envelope): Array<{ machine: string; payload: string; msgID: string }> {
    // It came from another machine: a sender the directory knows, or one the inbound side journaled.
    if (this.arrivals.has(envelope.id) || this.book.get(envelope.from)?.machine !== undefined) return [];
    const machines = new Set<string>();
    const { agents } = this.book.recipients(envelope);
    for (const agent of agents) {
      const machine = this.book.get(agent)?.machine;
      if (machine !== undefined && machine !== this.machine) machines.add(machine);
    }
    if (machines.size === 0) return [];
    const { rcpt, ...rest } = envelope;
    // A role choice, or the leader this machine knows of, travels as the agent's name: the other side cannot choose differently.
    const chosen = rcpt ?? (envelope.to.startsWith('leader:') ? agents[0] : undefined);
    const payload = serialize(chosen !== undefined ? { ...rest, to: chosen } : rest);
    return [...machines].map((machine) => ({ machine, payload, msgID: machines.size === 1 ? envelope.id : `${envelope.id}@${machine}` }));
  }

  private refreshBook(): void {
    // A stat per batch read, so that an agent registered a moment ago is never missed (it is cheap next to a publish).
    const mtime = unlessFsRace(() => fs.statSync(this.layout.registryFile).mtimeMs, 0, ['ENOENT']);
    if (mtime === this.registryMtime) return;
    this.registryMtime = mtime;
    this.book = new AddressBook(readRegistry(this.layout));
  }

  /** How many messages between the cursor and the journal's end are bound elsewhere (counted up to `limit`). */
  lag(limit = 100_000): { messages: number; more: boolean } {
    this.refreshBook();
    let messages = 0;
    let scanned = 0;
    for (const line of journalLines(this.layout.journalDir, this.cursor)) {
      if (++scanned > limit) return { messages, more: true };
      if (this.targets(decodeJournalLine(line.line)).length > 0) messages++;
    }
    return { messages, more: false };
  }
}

