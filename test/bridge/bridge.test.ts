import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import type { DeadLetter } from '../../src/journal/dead-letters.js';
import { readRegistry } from '../../src/bus/registry.js';
import { cli, tempDir, waitFor } from '../helpers/bus.js';
import { natsSkipReason, startNats, type NatsServer } from '../helpers/nats.js';
import { assertArrivedOnceInOrder, bridgeBoth, knows, machine, type Machine } from './bridge-helpers.js';
import fs from 'node:fs';

const skip = natsSkipReason();

describe('bridge: two buses on one host through a real nats-server', { skip }, () => {
  let nats: NatsServer;
  let dir: { dir: string; cleanup: () => void };
  let a: Machine;
  let b: Machine;
  before(async () => {
    dir = tempDir();
    nats = await startNats();
    a = await machine(dir.dir, 'ma', ['a-dev', 'a-qa:qa']);
    b = await machine(dir.dir, 'mb', ['b-dev', 'b-qa1:qa', 'b-qa2:qa']);
    await bridgeBoth(a, b, nats.url);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await nats?.stop();
    dir?.cleanup();
  });

  it('messages both ways, each once, in order per sender; tail and status show the other machine', async () => {
    const toB = await a.send('a-dev', 'b-dev', Array.from({ length: 300 }, (_, i) => `a to b ${i}`));
    const toA = await b.send('b-dev', 'a-dev', Array.from({ length: 300 }, (_, i) => `b to a ${i}`));
    await waitFor(() => b.journal().filter((e) => e.from === 'a-dev').length >= 300, 30_000, 'a → b');
    await waitFor(() => a.journal().filter((e) => e.from === 'b-dev').length >= 300, 30_000, 'b → a');
    assertArrivedOnceInOrder(b.journal(), toB, 'a → b');
    assertArrivedOnceInOrder(a.journal(), toA, 'b → a');
    // An inbox reader on B gets them: `read` of the agent, as any local message.
    const read = await cli(['read', 'b-dev', '--json', '--dir', b.root]);
    assert.equal(read.stdout.split('\n').filter(Boolean).length, 300, read.stderr);
    const tail = await cli(['tail', '--no-follow', '-n', '1', '--from', 'a-dev', '--dir', b.root]);
    assert.match(tail.stdout, /a-dev@ma → b-dev {2}message/);
    const status = JSON.parse((await cli(['status', '--json', '--dir', a.root])).stdout) as { bridge: { running: boolean; connected: boolean; machine: string; lag: number }; agents: Array<{ name: string; machine?: string }> };
    assert.deepEqual([status.bridge.running, status.bridge.connected, status.bridge.machine], [true, true, 'ma']);
    await waitFor(async () => (JSON.parse((await cli(['status', '--json', '--dir', a.root])).stdout) as { bridge: { lag: number } }).bridge.lag === 0, 10_000, 'lag 0');
    assert.equal(status.agents.find((x) => x.name === 'b-dev')?.machine, 'mb');
    const human = (await cli(['status', '--dir', a.root])).stdout;
    assert.match(human, /^bridge {4}connected to 127\.0\.0\.1:\d+ {2}machine ma {2}stream bmad/m);
  });

  it('role:, * and a name resolve across machines; a role choice holds on the other side', async () => {
    const [role] = await a.send('a-dev', 'role:qa', ['for a qa somewhere']);
    const [all] = await a.send('a-dev', '*', ['for everyone']);
    // The choice was made on A (its rcpt), and the message arrives on B only if B's agent was chosen.
    const chosen = await waitFor(() => a.journal().find((e) => e.id === role!.id)?.rcpt, 10_000, 'the role choice');
    if (chosen.startsWith('b-')) {
      const arrived = await waitFor(() => b.journal().find((e) => e.id === role!.id), 10_000, 'the role message on B');
      assert.equal(arrived.to, chosen, 'addressed to the agent chosen on A');
    }
    const everyone = await waitFor(() => b.journal().find((e) => e.id === all!.id), 10_000, '* on B');
    assert.equal(everyone.to, '*');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(a.journal().filter((e) => e.id === all!.id).length, 1, 'never sent back to A');
  });

  it('a bridge killed with -9 mid-stream and restarted: 0 lost, none twice, in order', async () => {
    const sending = a.send('a-dev', 'b-dev', Array.from({ length: 2000 }, (_, i) => `through a crash ${i}`));
    await new Promise((r) => setTimeout(r, 150));
    await a.bridge!.stop('SIGKILL');
    const sent = await sending;
    await a.startBridge(nats.url);
    await waitFor(() => b.journal().filter((e) => typeof e.body === 'string' && e.body.startsWith('through a crash')).length >= 2000, 60_000, 'all 2,000 on B');
    assertArrivedOnceInOrder(b.journal(), sent, 'through a crash');
  });

  it('nats-server restarted mid-run: local traffic goes on, the rest flows after', async () => {
    const before = await a.send('a-dev', 'b-dev', Array.from({ length: 200 }, (_, i) => `before the outage ${i}`));
    await nats.kill9();
    const during = await a.send('a-dev', 'b-dev', Array.from({ length: 200 }, (_, i) => `during the outage ${i}`));
    // Local traffic does not wait for NATS.
    const [local] = await a.send('a-qa', 'a-dev', ['local while NATS is down']);
    await waitFor(() => a.journal().some((e) => e.id === local!.id), 5000, 'the local message journaled');
    const down = await waitFor(async () => {
      const s = JSON.parse((await cli(['status', '--json', '--dir', a.root])).stdout) as { bridge: { connected: boolean; lag: number } };
      return !s.bridge.connected && s.bridge.lag > 0 ? s.bridge : undefined;
    }, 15_000, 'status: not connected, with a lag');
    assert.ok(down.lag > 0, `lag ${down.lag}`);
    await nats.restart();
    await waitFor(() => b.journal().filter((e) => typeof e.body === 'string' && /the outage/.test(e.body)).length >= 400, 60_000, 'all 400 on B');
    assertArrivedOnceInOrder(b.journal(), [...before, ...during], 'across the outage');
  });

  it('a forged from, a message that is not an envelope, a missing machine header: dead-lettered, and nothing local stops', async () => {
    const nc = await connect({ servers: nats.url });
    try {
      const js = jetstream(nc);
      const publish = (data: string, machineHeader?: string) => {
        const h = headers();
        if (machineHeader) h.set('Bmad-Machine', machineHeader);
        return js.publish('bmad.to.mb', data, { headers: h });
      };
      const forgedLocal = { id: '01M8ZZZZZZZZZZZZZZZZZZZZZ1', ts: new Date().toISOString(), from: 'b-qa1', to: 'b-dev', type: 'message', body: 'I am not b-qa1' };
      const forgedOther = { ...forgedLocal, id: '01M8ZZZZZZZZZZZZZZZZZZZZZ2', from: 'a-dev', body: 'a-dev is on ma, not mx' };
      await publish(JSON.stringify(forgedLocal), 'ma');
      await publish(JSON.stringify(forgedOther), 'mx');
      await publish('{"no": "envelope", "id": 3}', 'ma');
      await publish(JSON.stringify({ ...forgedLocal, id: '01M8ZZZZZZZZZZZZZZZZZZZZZ4', from: 'a-dev' }));
    } finally {
      await nc.close();
    }
    const deadFile = b.layout.deadLetterFile;
    const dead = await waitFor(() => {
      const records = fs.existsSync(deadFile) ? fs.readFileSync(deadFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DeadLetter).filter((d) => d.pipe?.startsWith('nats:')) : [];
      return records.length >= 4 ? records : undefined;
    }, 15_000, 'four dead letters on B');
    assert.deepEqual(dead.map((d) => d.reason), ['forged_from', 'forged_from', 'invalid_envelope', 'bad_origin']);
    assert.ok(!b.journal().some((e) => e.id.startsWith('01M8ZZZZ')), 'none journaled');
    const [after] = await a.send('a-dev', 'b-dev', ['still flowing']);
    await waitFor(() => b.journal().some((e) => e.id === after!.id), 10_000, 'the bridge goes on');
    await waitFor(async () => (JSON.parse((await cli(['status', '--json', '--dir', b.root])).stdout) as { bridge: { rejected: number } }).bridge.rejected === 4, 10_000, 'status: 4 rejected');
  });

  it('a name claimed by two machines is refused: here at agents add, and for a machine that joins with it, in its status', async () => {
    const taken = await cli(['agents', 'add', 'b-dev', '--dir', a.root]);
    assert.equal(taken.code, 2);
    assert.match(taken.stderr, /Agent name `b-dev` belongs to machine mb \(the NATS bridge registered it\): choose another name/);
    // A third machine that had its own a-dev before it joined.
    const c = await machine(dir.dir, 'mc', ['a-dev', 'c-dev']);
    try {
      await c.startBridge(nats.url);
      const status = await waitFor(async () => {
        const text = (await cli(['status', '--dir', c.root])).stdout;
        return /agent name a-dev is claimed by machine ma too: rename one of them/.test(text) ? text : undefined;
      }, 15_000, 'the conflict in status');
      assert.ok(status);
      await knows(a, 'c-dev', 'mc');
      const [toA] = await c.send('c-dev', 'a-dev', ['which a-dev?']);
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(!a.journal().some((e) => e.id === toA!.id), 'its own a-dev got it, not the other machine\'s');
      assert.equal(readRegistry(a.layout).agents['a-dev']?.machine, undefined, "A's a-dev stays A's");
    } finally {
      await c.close();
    }
  });
});

describe('bridge: bad input at start gives one clear line', { skip }, () => {
  let nats: NatsServer;
  let dir: { dir: string; cleanup: () => void };
  let root: string;
  before(async () => {
    dir = tempDir();
    nats = await startNats({ user: 'bus', password: 's3cret-pw' });
    root = `${dir.dir}/m`;
    assert.equal((await cli(['init', '--dir', root])).code, 0);
  });
  after(async () => {
    await nats?.stop();
    dir?.cleanup();
  });
  const bridge = (args: string[]) => cli(['bridge', '--dir', root, '--name', 'mx', ...args], { timeoutMs: 30_000 });

  it('a wrong URL, no URL, refused credentials, an unknown stream; credentials never printed', async () => {
    const wrong = await bridge(['--nats', 'nats://127.0.0.1:1']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^bmad-bus: Cannot reach NATS at nats:\/\/127\.0\.0\.1:1: /);
    const none = await bridge([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /needs a NATS server: --nats URL \(or BMAD_NATS_URL\)/);
    const bad = await bridge(['--nats', nats.url, '--user', 'bus', '--password', 'wrong-pw']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /refused the credentials \(user\)/);
    assert.doesNotMatch(bad.stderr, /wrong-pw/);
    const inUrl = await bridge(['--nats', nats.url.replace('nats://', 'nats://bus:wrong-pw@')]);
    assert.doesNotMatch(inUrl.stderr + inUrl.stdout, /wrong-pw/);
    // A stream of another purpose is never changed.
    const nc = await connect({ servers: nats.url, user: 'bus', pass: 's3cret-pw' });
    try {
      await (await jetstreamManager(nc)).streams.add({ name: 'other', subjects: ['foo.>'] });
    } finally {
      await nc.close();
    }
    const other = await bridge(['--nats', nats.url, '--user', 'bus', '--password', 's3cret-pw', '--stream', 'other']);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /Stream other exists and is not a bmad-bus stream \(its subjects are foo\.>, not other\.to\.>\): choose another --stream/);
    const env = await cli(['bridge', '--dir', root], { env: { BMAD_NATS_URL: 'nats://127.0.0.1:1', BMAD_NATS_NAME: 'bad name!' } });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /Expected a machine name/);
  });
});


describe('bridge: under the keeper (start --nats), restarted when it dies', { skip }, () => {
  let nats: NatsServer;
  let dir: { dir: string; cleanup: () => void };
  const roots: Record<string, string> = {};
  before(async () => {
    dir = tempDir();
    nats = await startNats();
    for (const [m, agent] of [['ka', 'ka-dev'], ['kb', 'kb-dev']] as const) {
      roots[m] = `${dir.dir}/${m}`;
      assert.equal((await cli(['init', '--dir', roots[m]!])).code, 0);
      assert.equal((await cli(['agents', 'add', agent, '--dir', roots[m]!])).code, 0);
      const started = await cli(['start', '--dir', roots[m]!, '--nats', nats.url], { env: { BMAD_NATS_NAME: m } });
      assert.equal(started.code, 0, started.stderr);
    }
  });
  after(async () => {
    for (const root of Object.values(roots)) await cli(['stop', '--dir', root]).catch(() => undefined);
    await nats?.stop();
    dir?.cleanup();
  });
  const status = async (m: string) => JSON.parse((await cli(['status', '--json', '--dir', roots[m]!])).stdout) as { bridge?: { running: boolean; connected: boolean; pid: number }; agents: Array<{ name: string; machine?: string }> };
  const journal = async (m: string) => (await cli(['tail', '--no-follow', '-n', '100000', '--json', '--dir', roots[m]!])).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string });

  it('messages flow; a bridge killed with -9 comes back by itself; stop stops it', async () => {
    await waitFor(async () => (await status('ka')).agents.find((a) => a.name === 'kb-dev')?.machine === 'kb', 20_000, 'ka knows kb-dev');
    const first = JSON.parse((await cli(['send', 'kb-dev', 'one', '--from', 'ka-dev', '--json', '--dir', roots.ka!])).stdout) as { id: string };
    await waitFor(async () => (await journal('kb')).some((e) => e.id === first.id), 15_000, 'the first on kb');
    const pid = (await status('ka')).bridge!.pid;
    process.kill(pid, 'SIGKILL');
    const second = JSON.parse((await cli(['send', 'kb-dev', 'two', '--from', 'ka-dev', '--json', '--dir', roots.ka!])).stdout) as { id: string };
    await waitFor(async () => (await journal('kb')).some((e) => e.id === second.id), 30_000, 'the second on kb, after the keeper restarted the bridge');
    assert.notEqual((await status('ka')).bridge!.pid, pid);
    assert.equal((await cli(['stop', '--dir', roots.ka!])).code, 0);
    assert.equal((await status('ka')).bridge!.running, false);
  });
});
