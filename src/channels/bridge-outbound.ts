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
import { followJournal, journalEnd } from '../journal/follow.js';
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
    // Woken when the queue shrinks or the pass fails: the wait at the in-flight limit is for an ack, not a timer.
    let room: (() => void) | undefined;
    failed.signal.addEventListener('abort', () => room?.(), { once: true });
    const settle = (): void => {
      while (queue[0]?.done) this.cursor = queue.shift()!.end;
      if (queue.length < MAX_IN_FLIGHT) room?.();
    };
    try {
      for await (const line of followJournal(this.layout.journalDir, this.cursor, { signal: failed.signal })) {
        this.refreshBook();
        const targets = this.targets(decodeJournalLine(line.line));
        const entry: InFlight = { end: line.end, done: targets.length === 0 };
        queue.push(entry);
        if (!entry.done) {
          this.inFlight++;
          const publishes = targets.map(({ machine, payload, msgID }) => {
            const h = natsHeaders();
            h.set(MACHINE_HEADER, this.machine);
            return js.publish(machineSubject(this.stream, machine), payload, { msgID, headers: h });
          });
          void Promise.all(publishes).then(
            () => {
              entry.done = true;
              this.inFlight--;
              this.published++;
              settle();
            },
            (error: unknown) => {
              failure ??= error;
              failed.abort();
            },
          );
        }
        settle();
        while (queue.length >= MAX_IN_FLIGHT && !failed.signal.aborted) {
          await new Promise<void>((resolve) => (room = resolve));
          room = undefined;
        }
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
    writeReport(this.layout.bridgeCursorFile, `${JSON.stringify({ cursor: this.cursor, updated: new Date().toISOString() })}\n`);
  }

  /**
   * Where a message goes beyond this machine: one publish per machine that
   * has a recipient. A `role:` message the router resolved (`rcpt`) goes to
   * the chosen agent's machine addressed to that agent, so the choice never
   * changes there.
   */
  private targets(envelope: Envelope): Array<{ machine: string; payload: string; msgID: string }> {
    if (this.book.get(envelope.from)?.machine !== undefined) return []; // it came from another machine
    const machines = new Set<string>();
    for (const agent of this.book.recipients(envelope).agents) {
      const machine = this.book.get(agent)?.machine;
      if (machine !== undefined && machine !== this.machine) machines.add(machine);
    }
    if (machines.size === 0) return [];
    const { rcpt, ...rest } = envelope;
    const payload = serialize(rcpt !== undefined ? { ...rest, to: rcpt } : rest);
    return [...machines].map((machine) => ({ machine, payload, msgID: machines.size === 1 ? envelope.id : `${envelope.id}@${machine}` }));
  }

  private refreshBook(): void {
    // A stat per line, so that an agent registered a moment ago is never missed (it is cheap next to a publish).
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

