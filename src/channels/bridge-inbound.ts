import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { normalize, parseLine, type Envelope } from '../bus/envelope.js';
import type { Layout } from '../bus/layout.js';
import { readRegistry, type Registry } from '../bus/registry.js';
import { InvalidMessageError, unlessFsRace } from '../bus/errors.js';
import fs from 'node:fs';
import { sendEnvelopes } from '../client/send.js';
import { DeadLetterLog, deadLetterFor } from '../journal/dead-letters.js';
import { MACHINE_HEADER } from './bridge-outbound.js';

/** This machine's durable consumer of its subject (runBridge makes it). */
export const inboundDurable = (machine: string): string => `bmad-in-${machine}`;

/**
 * The bridge's inbound side: a durable JetStream consumer on this machine's
 * subject. Each message is checked like any pipe input (the bus's own parse
 * and normalise; a bad one is dead-lettered here, and acked so it never
 * comes again), its `from` must not be an agent of another machine than the
 * one that published it, nor one of ours; then it is journaled with its id,
 * through `bus.pipe` or straight into the journal as `send` does, and only
 * then acked. A crash in between re-delivers it, and its id (an idempotency
 * key to the router) makes the repeat harmless. Messages are taken in stream
 * order, one after another: the order per sender holds.
 */
export class BridgeInbound {
  received = 0;
  rejected = 0;
  private readonly deadLetters: DeadLetterLog;
  private cached: { mtime: number; registry: Registry } | undefined;

  constructor(
    private readonly layout: Layout,
    private readonly stream: string,
    private readonly machine: string,
    /** The machine the directory says an agent lives on (undefined: none claims it). */
    private readonly machineOf: (agent: string) => string | undefined,
    private readonly log: (line: string) => void,
  ) {
    this.deadLetters = new DeadLetterLog(layout.deadLetterFile);
  }

  /** Messages waiting for this machine in the stream (not yet delivered, or delivered and not acked). */
  async pending(jsm: JetStreamManager): Promise<number> {
    const info = await jsm.consumers.info(this.stream, inboundDurable(this.machine));
    return info.num_pending + info.num_ack_pending;
  }

  /** Takes messages until `signal` aborts or journaling fails (then it throws, unacked messages come again). */
  async pass(js: JetStreamClient, signal: AbortSignal): Promise<void> {
    const consumer = await js.consumers.get(this.stream, inboundDurable(this.machine));
    const messages = await consumer.consume({ max_messages: 256 });
    const stop = (): void => void messages.close();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const m of messages) {
        const envelope = this.check(m);
        if (envelope) {
          await sendEnvelopes(this.layout, [envelope]);
          this.received++;
        }
        m.ack();
      }
    } finally {
      signal.removeEventListener('abort', stop);
      await messages.close().catch(() => undefined);
    }
  }

  close(): void {
    this.deadLetters.close();
  }

  /** The registry, parsed again only when its file changed (a parse per message was a tenth of the inbound side's time). */
  private registry(): Registry {
    const mtime = unlessFsRace(() => fs.statSync(this.layout.registryFile).mtimeMs, 0, ['ENOENT']);
    if (this.cached?.mtime !== mtime) this.cached = { mtime, registry: readRegistry(this.layout) };
    return this.cached.registry;
  }

  /** The envelope to journal, or undefined after dead-lettering what must not be. */
  private check(m: JsMsg): Envelope | undefined {
    const origin = m.headers?.get(MACHINE_HEADER) ?? '';
    const pipe = `nats:${origin || '?'}`;
    try {
      const parsed = parseLine(Buffer.from(m.data));
      if (parsed.kind !== 'object') throw new InvalidMessageError('invalid_envelope', 'Expected a whole envelope from the bridge, got a text or blank line');
      if (typeof parsed.value.id !== 'string') throw new InvalidMessageError('invalid_envelope', 'A bridged message must keep its id');
      if (!origin) throw new InvalidMessageError('bad_origin', `No ${MACHINE_HEADER} header: not published by a bmad-bus bridge`);
      const { envelope } = normalize(parsed, { pipe });
      // One of our agents, or another machine's, cannot write from there; each machine's own orchestrator (`init`'s) can.
      const ours = this.registry().agents[envelope.from];
      const claimed = this.machineOf(envelope.from);
      if ((ours && ours.machine === undefined && ours.owner !== 'init') || (claimed !== undefined && claimed !== origin)) {
        throw new InvalidMessageError('forged_from', `from ${envelope.from} is an agent of ${claimed ?? this.machine}, but machine ${origin} sent it`);
      }
      return envelope;
    } catch (error) {
      if (!(error instanceof InvalidMessageError)) throw error;
      this.rejected++;
      this.log(`inbound: dead-lettered a message from ${pipe}: ${error.message}`);
      this.deadLetters.append(deadLetterFor(error.reason, error.message, Buffer.from(m.data), { pipe }));
      return undefined;
    }
  }
}
