import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AddressBook } from '../../src/bus/address-book.js';
import { createEnvelope, serialize } from '../../src/bus/envelope.js';
import { addAgent, readRegistry, removeAgent } from '../../src/bus/registry.js';
import type { Layout } from '../../src/bus/layout.js';
import { initRoot } from '../../src/bus/root.js';
import { ConsumerSet, type ConsumerSetHost } from '../../src/router/consumer-set.js';
import { HoldQueue } from '../../src/router/hold-queue.js';
import { tempRoot } from '../helpers/bus.js';

/** A consumer set on a fresh root, whose host counts the changes; `close` closes its consumers and removes the root. */
function setUp(journalEnd: number): {
  layout: Layout;
  book: AddressBook;
  held: HoldQueue;
  consumers: ConsumerSet;
  changes: { count: number };
  close: () => Promise<void>;
} {
  const { root, cleanup } = tempRoot();
  const layout = initRoot(root);
  const book = new AddressBook({ agents: {}, groups: {} });
  const held = new HoldQueue({ holdMs: 60_000, deadLetterFile: layout.deadLetterFile });
  const changes = { count: 0 };
  const host: ConsumerSetHost = {
    journalEnd: () => journalEnd,
    dispatchedEnd: () => 0,
    delivered: () => assert.fail('nothing is delivered here'),
    changed: () => changes.count++,
    rootStillOurs: () => true,
    publish: () => undefined,
    log: () => undefined,
  };
  const consumers = new ConsumerSet(layout, book, held, 'private-socket', undefined, host);
  return {
    layout,
    book,
    held,
    consumers,
    changes,
    close: async () => {
      await consumers.close();
      cleanup();
    },
  };
}

describe('the consumer set', () => {
  test('one consumer per agent and delivery kind, started at its saved cursor, its held messages or its registration', async () => {
    const { layout, book, held, consumers, changes, close } = setUp(1_000);
    try {
      await addAgent(layout, { name: 'saved' });
      await addAgent(layout, { name: 'late', since: 700 });
      await addAgent(layout, { name: 'both', tmux: '%1', deliver: 'both' });
      await addAgent(layout, { name: 'quiet', deliver: 'none' });
      const envelope = createEnvelope({ from: 'a', to: 'late', body: 1 });
      held.hold('late', { offset: 300, line: serialize(envelope), envelope });
      book.update(readRegistry(layout));
      consumers.sync({ 'inbox:saved': 120 });
      assert.deepEqual(consumers.cursors(), { 'inbox:saved': 120, 'inbox:late': 300, 'inbox:both': 1_000, 'tmux:both': 1_000 });
      assert.equal(held.size, 0, 'the held message is delivered by the journal now');
      assert.equal(changes.count, 4);
      consumers.offer({ offset: 1_000, end: 1_100, line: serialize(envelope), envelope }, ['late', 'both', 'nobody']);
      assert.deepEqual([...consumers.values()].map((c) => [c.key, c.undelivered]), [['inbox:saved', 0], ['inbox:late', 1], ['inbox:both', 1], ['tmux:both', 1]]);
    } finally {
      await close();
    }
  });

  test('competing deliveries go to the agents of the highest priority first (the registry carries each level)', async () => {
    const { layout, book, consumers, close } = setUp(0);
    try {
      await addAgent(layout, { name: 'a-support', priority: 'low' });
      await addAgent(layout, { name: 'b-dev' });
      await addAgent(layout, { name: 'c-orchestrator', priority: 'highest' });
      await addAgent(layout, { name: 'd-monitor', priority: 'high' });
      book.update(readRegistry(layout));
      consumers.sync({});
      const offered: string[] = [];
      const woken: string[] = [];
      for (const consumer of consumers.values()) {
        const offer = consumer.offer.bind(consumer);
        const wake = consumer.wake.bind(consumer);
        consumer.offer = (item) => {
          offered.push(consumer.agent);
          offer(item);
        };
        consumer.wake = () => {
          woken.push(consumer.agent);
          wake();
        };
      }
      const envelope = createEnvelope({ from: 'x', to: '*', body: 1 });
      consumers.offer({ offset: 0, end: 100, line: serialize(envelope), envelope }, ['a-support', 'b-dev', 'c-orchestrator', 'd-monitor']);
      consumers.wakeAll();
      const order = ['c-orchestrator', 'd-monitor', 'b-dev', 'a-support'];
      assert.deepEqual(offered, order);
      assert.deepEqual(woken, order);
    } finally {
      await close();
    }
  });

  test('an agent that leaves loses its consumers; a pane that changes gets a new one; the others stay', async () => {
    const { layout, book, consumers, changes, close } = setUp(0);
    try {
      await addAgent(layout, { name: 'stays' });
      await addAgent(layout, { name: 'goes' });
      await addAgent(layout, { name: 'pane', tmux: '%1' });
      book.update(readRegistry(layout));
      consumers.sync({});
      const [stays, , pane] = [...consumers.values()];
      await removeAgent(layout, 'goes');
      await addAgent(layout, { name: 'pane', tmux: '%2' });
      book.update(readRegistry(layout));
      changes.count = 0;
      consumers.sync({});
      const now = [...consumers.values()];
      assert.deepEqual(now.map((c) => c.key), ['inbox:stays', 'tmux:pane']);
      assert.equal(now[0], stays);
      assert.notEqual(now[1], pane, 'a new pane sink for the new target');
      assert.equal(changes.count, 3, 'two gone, one new');
    } finally {
      await close();
    }
  });
});
