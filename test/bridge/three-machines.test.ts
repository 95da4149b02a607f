import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Envelope } from '../../src/bus/envelope.js';
import { readRegistry, setGroups } from '../../src/bus/registry.js';
import type { DeadLetter } from '../../src/journal/dead-letters.js';
import { cli, tempDir, waitFor } from '../helpers/bus.js';
import { natsSkipReason, startNats, type NatsServer } from '../helpers/nats.js';
import { knows, machine, type Machine } from './bridge-helpers.js';

const skip = natsSkipReason();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Three machines, because two hide an echo: a message sent back to the one machine it came
// from carries the id JetStream saw already, and is dropped there; with three, each copy has
// its own id (`<id>@<machine>`), and an echo would reach the sender's machine and the third.
describe('bridge: three machines', { skip }, () => {
  let nats: NatsServer;
  let dir: { dir: string; cleanup: () => void };
  let all: Machine[];
  let a: Machine;
  let b: Machine;
  let c: Machine;
  before(async () => {
    dir = tempDir();
    nats = await startNats();
    a = await machine(dir.dir, 'ma', ['a-dev']);
    b = await machine(dir.dir, 'mb', ['b-dev', 'b-lead']);
    c = await machine(dir.dir, 'mc', ['c-dev']);
    all = [a, b, c];
    // `epic` spans machines: A's topology names its members there, C's only its own; the leader is A's word.
    await setGroups(a.layout, { epic: { leader: 'b-lead', members: ['a-dev', 'b-dev'] } });
    await setGroups(c.layout, { epic: { members: ['c-dev'] } });
    for (const m of all) await m.startBridge(nats.url);
    for (const m of all) for (const other of all) if (other !== m) await knows(m, other.agents[0]!, other.name);
  });
  after(async () => {
    for (const m of all ?? []) await m.close();
    await nats?.stop();
    dir?.cleanup();
  });

  const once = (m: Machine, id: string): Envelope[] => m.journal().filter((e) => e.id === id);
  const duplicates = (m: Machine): DeadLetter[] => {
    const file = m.layout.deadLetterFile;
    if (!fs.existsSync(file)) return [];
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DeadLetter).filter((d) => d.reason === 'duplicate_id');
  };
  const published = async (m: Machine): Promise<number> => (JSON.parse((await cli(['status', '--json', '--dir', m.root])).stdout) as { bridge: { published: number } }).bridge.published;

  it('group: reaches every machine\'s members of the group, leader: the leader A names, from any machine', async () => {
    await waitFor(() => readRegistry(c.layout).remote_groups?.epic?.leader === 'b-lead' || undefined, 15_000, "C to know A's epic");
    await waitFor(() => readRegistry(a.layout).remote_groups?.epic?.members.includes('c-dev') || undefined, 15_000, "A to know C's epic");
    const [toGroup] = await a.send('a-dev', 'group:epic', ['for the epic']);
    await waitFor(() => once(b, toGroup!.id).length === 1 || undefined, 15_000, 'group message on B');
    await waitFor(() => once(c, toGroup!.id).length === 1 || undefined, 15_000, 'group message on C');
    const readB = (await cli(['read', 'b-dev', '--json', '--dir', b.root])).stdout;
    const readC = (await cli(['read', 'c-dev', '--json', '--dir', c.root])).stdout;
    assert.match(readB, /for the epic/);
    assert.match(readC, /for the epic/);
    assert.doesNotMatch((await cli(['read', 'b-lead', '--json', '--dir', b.root])).stdout, /for the epic/, 'b-lead is not a member');

    // C's topology names no leader: C takes A's, and the message goes to it by name.
    const [toLeader] = await c.send('c-dev', 'leader:epic', ['for the lead']);
    const arrived = await waitFor(() => once(b, toLeader!.id)[0], 15_000, 'leader message on B');
    assert.equal(arrived.to, 'b-lead');
    assert.match((await cli(['read', 'b-lead', '--json', '--dir', b.root])).stdout, /for the lead/);
    // C's status file (rewritten each second) counts that publish before the next case reads it as a baseline.
    await waitFor(async () => (await published(c)) >= 1 || undefined, 5_000, "C's status counting its publish");
  });

  it('`*` from senders no directory names (user, each machine\'s orchestrator) reaches the others once and never comes back', async () => {
    const publishedBefore = [await published(b), await published(c)];
    const [fromUser] = await a.send('user', '*', ['from a user on A']);
    const [fromOrchestrator] = await a.send('orchestrator', '*', ['from the orchestrator of A']);
    for (const e of [fromUser!, fromOrchestrator!]) {
      for (const m of [b, c]) await waitFor(() => once(m, e.id).length === 1 || undefined, 15_000, `${e.body} on ${m.name}`);
    }
    await sleep(2000); // an echo would have come by now
    for (const m of all) {
      for (const e of [fromUser!, fromOrchestrator!]) assert.equal(once(m, e.id).length, 1, `${e.body} once on ${m.name}`);
      assert.deepEqual(duplicates(m), [], `no repeat reached ${m.name}`);
    }
    assert.deepEqual([await published(b), await published(c)], publishedBefore, 'B and C published nothing of what they received');
  });

  it('a bridge killed with -9 just after messages arrived, then restarted, still sends none of them back', async () => {
    const before = await published(b);
    const sent = await a.send('user', '*', Array.from({ length: 300 }, (_, i) => `before a crash ${i}`));
    await waitFor(() => b.journal().filter((e) => typeof e.body === 'string' && e.body.startsWith('before a crash')).length === 300 || undefined, 30_000, 'all 300 on B');
    await b.bridge!.stop('SIGKILL'); // its cursor (saved each second) is very likely behind them
    await b.startBridge(nats.url);
    await waitFor(async () => (JSON.parse((await cli(['status', '--json', '--dir', b.root])).stdout) as { bridge: { lag: number; connected: boolean } }).bridge.connected || undefined, 15_000, 'B connected again');
    await sleep(2000);
    for (const m of all) {
      assert.equal(m.journal().filter((e) => sent.some((s) => s.id === e.id)).length, 300, `each once on ${m.name}`);
      assert.deepEqual(duplicates(m), [], `no repeat reached ${m.name}`);
    }
    assert.equal(await published(b), before, 'B published nothing after its restart');
  });
});
