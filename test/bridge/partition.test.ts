import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Envelope } from '../../src/bus/envelope.js';
import { tempDir, waitFor } from '../helpers/bus.js';
import { natsSkipReason, startNats, startNatsCluster, type NatsServer } from '../helpers/nats.js';
import { NetLab, netnsSkipReason } from '../helpers/netns.js';
import { assertArrivedOnceInOrder, bridgeBoth, machine, type Machine } from './bridge-helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Both sides keep sending, one message every `everyMs`, until stopped; what each sent, in order. */
function keepSending(a: Machine, b: Machine, everyMs = 25): { stop: () => Promise<{ toB: Envelope[]; toA: Envelope[] }> } {
  const toB: Envelope[] = [];
  const toA: Envelope[] = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      toB.push(...(await a.send('a-dev', 'b-dev', [`a→b ${i}`])));
      toA.push(...(await b.send('b-dev', 'a-dev', [`b→a ${i}`])));
      await sleep(everyMs);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { toB, toA };
    },
  };
}

async function allArrived(a: Machine, b: Machine, sent: { toB: Envelope[]; toA: Envelope[] }, timeoutMs: number): Promise<void> {
  const has = (m: Machine, list: Envelope[]) => {
    const ids = new Set(m.journal().map((e) => e.id));
    return list.every((e) => ids.has(e.id));
  };
  try {
    await waitFor(() => has(b, sent.toB) && has(a, sent.toA), timeoutMs, 'every message on the other side');
  } catch (error) {
    // What the bridges said is the first thing to read.
    for (const m of [a, b]) console.error(`bridge ${m.name}:\n${m.bridge?.stderr().slice(-4000)}`);
    throw error;
  }
  assertArrivedOnceInOrder(b.journal(), sent.toB, 'a → b');
  assertArrivedOnceInOrder(a.journal(), sent.toA, 'b → a');
}

describe('bridge: two machines in network namespaces, a partition and a server restart', { skip: natsSkipReason() || netnsSkipReason() }, () => {
  let lab: NetLab;
  let nats: NatsServer;
  let dir: { dir: string; cleanup: () => void };
  let a: Machine;
  let b: Machine;
  before(async () => {
    dir = tempDir();
    // nats-server in a namespace of its own; each machine's bridge in its own; they meet on the lab's bridge only.
    lab = NetLab.create(['nats', 'ma', 'mb']);
    // Its own store dir, kept across a stop: a restart must find the stream as it was.
    nats = await startNats({ netns: { lab, name: 'nats' }, storeDir: fs.mkdtempSync(path.join(dir.dir, 'nats-')) });
    a = await machine(dir.dir, 'ma', ['a-dev']);
    b = await machine(dir.dir, 'mb', ['b-dev']);
    await bridgeBoth(a, b, nats.url, nats.url, { a: ['ip', 'netns', 'exec', lab.namespace('ma')], b: ['ip', 'netns', 'exec', lab.namespace('mb')] });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await nats?.stop();
    lab?.destroy();
    dir?.cleanup();
  });

  it("A's link down for 20 s while both keep sending, then back: 0 lost, in order per sender", async () => {
    const sending = keepSending(a, b);
    await sleep(2000);
    lab.linkDown('ma');
    await sleep(20_000);
    lab.linkUp('ma');
    await sleep(2000);
    const sent = await sending.stop();
    assert.ok(sent.toB.length > 200, `${sent.toB.length} sent each way`);
    await allArrived(a, b, sent, 90_000);
  });

  it('nats-server restarted in the middle of a run: 0 lost, in order per sender', async () => {
    const sending = keepSending(a, b);
    await sleep(2000);
    await nats.stop();
    await sleep(3000);
    await nats.restart();
    await sleep(3000);
    const sent = await sending.stop();
    await allArrived(a, b, sent, 90_000);
  });
});

describe('bridge: a three-node NATS cluster on loopback, one node killed mid-run', { skip: natsSkipReason() }, () => {
  let cluster: Awaited<ReturnType<typeof startNatsCluster>>;
  let dir: { dir: string; cleanup: () => void };
  let a: Machine;
  let b: Machine;
  before(async () => {
    dir = tempDir();
    cluster = await startNatsCluster(3);
    a = await machine(dir.dir, 'ma', ['a-dev']);
    b = await machine(dir.dir, 'mb', ['b-dev']);
    // Each bridge knows every node; A starts on the first, B on the last.
    await bridgeBoth(a, b, cluster.urls.join(','), [...cluster.urls].reverse().join(','));
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await cluster?.stop();
    dir?.cleanup();
  });

  it('the bridge keeps working: 0 lost, in order per sender', async () => {
    const sending = keepSending(a, b);
    await sleep(2000);
    await cluster.servers[0]!.kill9();
    await sleep(5000);
    const sent = await sending.stop();
    await allArrived(a, b, sent, 90_000);
  });
});
