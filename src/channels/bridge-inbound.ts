import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { normalize, parseLine, type Envelope } from '../bus/envelope.js';
import type { Layout } from '../bus/layout.js';
import { readRegistry, type Registry } from '../bus/registry.js';
import { InvalidMessageError, unlessFsRace } from '../bus/errors.js';
import fs from 'node:fs';
import { sendEnvelopes } from '../client/send.js';
import { DeadLetterLog, deadLetterFor } from '../journal/dead-letters.js';
import type { BridgeArrivals } from './bridge-arrivals.js';
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
    /** Where the ids journaled from NATS are written down, so the outbound side never sends them back. */
    private readonly arrivals: BridgeArrivals,
    private readonly log: (line: string) => void,
  ) {
    this.deadLetters = new DeadLetterLog(layout.deadLetterFile);
  }

  /** Messages waiting for this machine in the stream (not yet delivered, or delivered and not acked). */
  async pending(jsm: JetStreamManager): Promise<number> {
    const info = await jsm.consumers.info(this.stream, inboundDurable(this.machine));
    return info.num_pending + info.num_ack_pending;
  }

  /**
   * Takes messages until `signal` aborts or journaling fails (then it throws,
   * and what was not acked comes again). What the consumer delivers while a
   * batch is being journaled makes the next batch: one write into the bus
   * for many messages, each batch journaled, then acked, in stream order.
   */
  async pass(js: JetStreamClient, signal: AbortSignal): Promise<void> {
    const consumer = await js.consumers.get(this.stream, inboundDurable(this.machine));
    let waiting: JsMsg[] = [];
    let chain: Promise<void> = Promise.resolve();
    let failure: { error: unknown } | undefined;
    let fail: (error: unknown) => void = () => undefined;
    const failedOnce = new Promise<never>((_, reject) => (fail = reject));
    failedOnce.catch(() => undefined);
    const flush = async (): Promise<void> => {
      const batch = waiting;
      waiting = [];
      if (batch.length === 0 || failure) return;
      try {
        await this.journal(batch);
      } catch (error) {
        failure = { error };
        fail(error);
      }
    };
    const messages = await consumer.consume({
      max_messages: 256,
      callback: (m) => {
        if (failure) return; // not acked: it comes again, after the journal
        waiting.push(m);
        if (waiting.length === 1) chain = chain.then(flush);
      },
    });
    const stop = (): void => void messages.close();
    signal.addEventListener('abort', stop, { once: true });
    try {
      const closed = await Promise.race([messages.closed(), failedOnce]);
      await chain;
      if (closed instanceof Error && !signal.aborted) throw closed;
    } finally {
      signal.removeEventListener('abort', stop);
      await messages.close().catch(() => undefined);
    }
    if (failure) throw failure.error;
  }

  /** Checks a batch, journals what passes (written down as arrivals first), then acks them all. */
  private async journal(batch: JsMsg[]): Promise<void> {
    const envelopes: Envelope[] = [];
    const registry = this.registry();
    for (const m of batch) {
      const envelope = this.check(m, registry);
      if (envelope) envelopes.push(envelope);
    }
    if (envelopes.length > 0) {
      this.arrivals.add(envelopes.map((e) => e.id));
      await sendEnvelopes(this.layout, envelopes);
      this.received += envelopes.length;
    }
    for (const m of batch) m.ack();
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
  private check(m: JsMsg, registry: Registry): Envelope | undefined {
    const origin = m.headers?.get(MACHINE_HEADER) ?? '';
    const pipe = `nats:${origin || '?'}`;
    try {
      const parsed = parseLine(Buffer.from(m.data));
      if (parsed.kind !== 'object') throw new InvalidMessageError('invalid_envelope', 'Expected a whole envelope from the bridge, got a text or blank line');
      if (typeof parsed.value.id !== 'string') throw new InvalidMessageError('invalid_envelope', 'A bridged message must keep its id');
      if (!origin) throw new InvalidMessageError('bad_origin', `No ${MACHINE_HEADER} header: not published by a bmad-bus bridge`);
      const { envelope } = normalize(parsed, { pipe });
      // One of our agents, or another machine's, cannot write from there; each machine's own orchestrator (`init`'s) can.
      const ours = registry.agents[envelope.from];
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
