import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsSkipReason, startNats, startNatsCluster, type NatsServer } from '../helpers/nats.js';
import { NetLab, netnsSkipReason } from '../helpers/netns.js';

// Tests of the test helpers themselves: if these fail, the bridge tests built on them mean nothing.

const natsSkip = natsSkipReason();

describe('nats helpers', { skip: natsSkip }, () => {
  it('startNats: JetStream dedups by msgID, keeps a file stream over restart, stop removes the store', async () => {
    const server = await startNats();
    try {
      assert.ok(fs.existsSync(server.storeDir));
      let nc = await connect({ servers: server.url });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'LAB', subjects: ['lab.>'], storage: StorageType.File });
      const js = jetstream(nc);
      const first = await js.publish('lab.x', 'one', { msgID: 'm-1' });
      const again = await js.publish('lab.x', 'one', { msgID: 'm-1' });
      assert.equal(first.duplicate, false);
      assert.equal(again.duplicate, true);
      assert.equal(again.seq, first.seq);
      await nc.close();

      // A crash and a restart on the same port and store: the stream and its message are still there.
      const oldPid = server.pid;
      await server.kill9();
      await server.restart();
      assert.notEqual(server.pid, oldPid);
      nc = await connect({ servers: server.url });
      const info = await (await jetstreamManager(nc)).streams.info('LAB');
      assert.equal(info.state.messages, 1);
      await nc.close();
    } finally {
      await server.stop();
    }
    assert.equal(fs.existsSync(server.storeDir), false, 'stop() removes the temp store dir');
    assert.equal(processAlive(server.pid), false);
  });

  it('startNatsCluster: an R3 stream still takes writes after its leader is killed', async () => {
    const cluster = await startNatsCluster(3);
    try {
      const nc = await connect({ servers: cluster.urls });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'R3', subjects: ['r3.>'], storage: StorageType.File, num_replicas: 3 });
      assert.equal((await jetstream(nc).publish('r3.a', 'before')).seq, 1);
      // Kill the stream's leader (servers[i] is n<i+1>), publishing through a node that stays up:
      // the test is about the stream surviving, not about client failover.
      const leader = (await jsm.streams.info('R3')).cluster!.leader!;
      await nc.close();
      const victim = cluster.servers[Number(leader.slice(1)) - 1]!;
      const survivor = cluster.servers.find((s) => s !== victim)!;
      const nc2 = await connect({ servers: survivor.url });
      try {
        await victim.kill9();
        // Until the survivors elect a new leader the stream has no responder (a 503, which the
        // client reports as "jetstream is not enabled"); retries ride that out, as a bridge must.
        const ack = await jetstream(nc2).publish('r3.a', 'after', { timeout: 5000, retries: 20 });
        assert.equal(ack.seq, 2);
      } finally {
        await nc2.close();
      }
    } finally {
      await cluster.stop();
    }
    for (const s of cluster.servers) {
      assert.equal(processAlive(s.pid), false);
      assert.equal(fs.existsSync(s.storeDir), false);
    }
  });
});

/** `process.kill(pid, 0)`: whether something still runs under that pid. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const labSkip = natsSkip || netnsSkipReason();

describe('netns lab', { skip: labSkip }, () => {
  // The child is a plain CommonJS `node -e`; give it the client by absolute path (its cwd resolves nothing).
  const client = createRequire(import.meta.url).resolve('@nats-io/transport-node');

  /** From inside `name`: connect to `url` once, without retries (2 s timeout); resolves with the exit code and what it printed. */
  function tryConnect(lab: NetLab, name: string, url: string): Promise<{ code: number | null; out: string }> {
    const script = `require(${JSON.stringify(client)}).connect({ servers: ${JSON.stringify(url)}, timeout: 2000, reconnect: false })
      .then(async (nc) => { console.log('ok'); await nc.close(); }, (e) => { console.error(String(e)); process.exit(1); })`;
    const child = lab.exec(name, [process.execPath, '-e', script]);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
  }

  it('partitions a namespace from nats-server and heals it, and destroy leaves nothing', async () => {
    const lab = NetLab.create(['nats', 'a', 'b']);
    let server: NatsServer | undefined;
    try {
      assert.match(lab.namespace('a'), new RegExp(`^bmad-${process.pid}-[0-9a-f]{4}-a$`));
      assert.deepEqual(['nats', 'a', 'b'].map((n) => lab.address(n).split('.').pop()), ['1', '2', '3']);
      server = await startNats({ netns: { lab, name: 'nats' } });
      assert.equal(server.host, lab.address('nats'));

      const before = await tryConnect(lab, 'a', server.url);
      assert.equal(before.code, 0, before.out);
      assert.match(before.out, /^ok$/m);

      lab.linkDown('a');
      const cut = await tryConnect(lab, 'a', server.url);
      assert.notEqual(cut.code, 0, `connected through a downed link: ${cut.out}`);
      // How fast it fails is the machine's business (a loaded box starts node slowly): that it fails is the point.
      // 'b' is on the same bridge and unaffected.
      assert.equal((await tryConnect(lab, 'b', server.url)).code, 0);

      lab.linkUp('a');
      const healed = await tryConnect(lab, 'a', server.url);
      assert.equal(healed.code, 0, healed.out);
    } finally {
      await server?.stop();
      lab.destroy();
      lab.destroy(); // idempotent
    }
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith(`bmad-${process.pid}-`));
    assert.deepEqual(left, []);
  });
});
