// Bench row 9 (`npm run bench -- --only bridge`): two buses on this host linked by their
// `bmad-bus bridge` to one nats-server with JetStream, against raw JetStream on the same server
// in the same run. Bus A's router, bus B's router and both bridges are real processes; a worker
// (worker.ts) writes into A's bus.pipe as agent a-dev and another reads B's inbox of b-dev, the
// "delivered" point of rows 1 and 2. The raw JetStream baseline runs its publisher and its
// consumer in two child processes (this file, run with `js-pub` / `js-con`), as the two bridges are.
// BENCH_BRIDGE_PROF=DIR: the bridges run with `node --cpu-prof --cpu-prof-dir=DIR` (one .cpuprofile each, written at their exit).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { Layout } from '../../src/bus/layout.js';
import { addAgent, readRegistry } from '../../src/bus/registry.js';
import { initRoot } from '../../src/bus/root.js';
import { startForeground, startRouter, waitFor, type RunningRouter } from '../helpers/bus.js';
import { natsSkipReason, startNats, type NatsServer } from '../helpers/nats.js';
import { cpuMs, percentiles, rawLatency, rawRound, rawThroughput, stampOf, type Latency, type RawRun } from './durable-peers.js';
export type { Latency } from './durable-peers.js';
import type { Command, Reply } from './worker.js';

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type CommandInput = Command extends infer C ? (C extends Command ? Omit<C, 'id'> : never) : never;
/** A bench worker (bench.ts Worker): writes or reads on command. */
export interface BenchWorker {
  run(command: CommandInput): { done: Promise<Reply>; ready: Promise<void> };
}


export interface BridgeBenchOptions {
  /** Messages per throughput round. */
  n: number;
  rounds: number;
  /** Latency: messages per second, for `seconds`, `latRounds` times. */
  rate: number;
  seconds: number;
  latRounds: number;
  log: (line: string) => void;
  /** One reader and one writer worker (the bench's pool). */
  workers: () => { reader: BenchWorker; writer: BenchWorker };
}

export interface BridgeBenchResult {
  /** Why the row did not run (nats-server missing). */
  skipped?: string;
  throughput: { bridge: number[]; raw: number[] };
  /** `published`: send on A → the publish of A's bridge seen at the server (a plain subscriber on B's subject). */
  latency: { bridge: Latency[]; published: Latency[]; raw: Latency[] };
  /**
   * CPU time per message (µs) of each process on the path, per throughput round (from /proc, so
   * less sensitive than msg/s to other load on the host): the bridges, the two routers and
   * nats-server; the raw publisher, consumer and nats-server.
   */
  cpu: { bridge: Record<'ma' | 'mb' | 'routers' | 'nats', number[]>; raw: Record<'publisher' | 'consumer' | 'nats', number[]> };
  /** What the bridges counted, and anything they logged as an error. */
  notes: string[];
}

// ---- the row -------------------------------------------------------------------

export async function benchBridge(o: BridgeBenchOptions): Promise<BridgeBenchResult> {
  const result: BridgeBenchResult = { throughput: { bridge: [], raw: [] }, latency: { bridge: [], published: [], raw: [] }, cpu: { bridge: { ma: [], mb: [], routers: [], nats: [] }, raw: { publisher: [], consumer: [], nats: [] } }, notes: [] };
  const skip = natsSkipReason();
  if (skip) return { ...result, skipped: skip };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bmad-bench-bridge-'));
  const procs: RunningRouter[] = [];
  const closers: Array<() => Promise<void>> = [];
  let nats: NatsServer | undefined;
  try {
    nats = await startNats({ host: '127.0.0.1' });
    o.log(`bridge: nats-server -js on ${nats.url} (pid ${nats.pid})`);
    const a = await bus(path.join(dir, 'a'), ['a-dev']);
    const b = await bus(path.join(dir, 'b'), ['b-dev']);
    const routers = [await startRouter(a.root), await startRouter(b.root)];
    procs.push(...routers);
    // --cpu-prof is not allowed in NODE_OPTIONS: a shell puts it after the node binary, and execs (same pid).
    const prof = process.env.BENCH_BRIDGE_PROF ? path.resolve(process.env.BENCH_BRIDGE_PROF) : undefined;
    const wrap = prof ? ['sh', '-c', 'n="$1"; shift; exec "$n" --cpu-prof --cpu-prof-dir="$P" "$@"', 'sh'] : undefined;
    const bridge = (m: { root: string }, name: string): Promise<RunningRouter> =>
      startForeground(['bridge', '--dir', m.root, '--nats', nats!.url, '--name', name], `bridge ${name}`, { readyMs: 30_000, ...(wrap ? { wrap, env: { P: prof! } } : {}) });
    const bridgeA = await bridge(a, 'ma');
    procs.push(bridgeA);
    const bridgeB = await bridge(b, 'mb');
    procs.push(bridgeB);
    await waitFor(() => readRegistry(a.layout).agents['b-dev']?.machine === 'mb' || undefined, 30_000, 'A to know b-dev on mb');
    o.log(`bridge: ma (pid ${bridgeA.child.pid}) and mb (pid ${bridgeB.child.pid}) linked; A knows b-dev on mb`);

    const { reader, writer } = o.workers();
    const busPipe = a.layout.busPipe;
    const inbox = b.layout.inboxPipe('b-dev');
    let sent = 0;
    const bridgeThroughput = async (count: number): Promise<number> => {
      const r = reader.run({ op: 'read', pipe: inbox, count, timeoutMs: 600_000 });
      await r.ready;
      const w = ok(await writer.run({ op: 'write', pipe: busPipe, count, batch: true, from: 'a-dev', to: 'b-dev' }).done);
      sent += count;
      const got = ok(await r.done);
      return (count / (got.end! - w.start!)) * 1000;
    };
    // Where the time goes: a plain NATS subscriber on B's subject sees each publish of A's bridge as it reaches the server.
    // Subscribed only while the latency runs (the server copies each message to it).
    const tap = await connect({ servers: nats.url });
    closers.push(() => tap.close());
    const bridgeLatency = async (): Promise<{ total: Latency; published: Latency }> => {
      const count = Math.max(200, Math.round(o.rate * o.seconds));
      const hop: number[] = [];
      const sub = tap.subscribe('bmad.to.mb', {
        callback: (_error, m) => {
          const t = stampOf(m.data);
          if (!Number.isNaN(t)) hop.push(nowMs() - t);
        },
      });
      await tap.flush();
      const r = reader.run({ op: 'read', pipe: inbox, count, stamp: true, timeoutMs: 600_000 });
      await r.ready;
      ok(await writer.run({ op: 'write', pipe: busPipe, count, batch: true, rate: o.rate, stamp: true, from: 'a-dev', to: 'b-dev' }).done);
      sent += count;
      const total = ok(await r.done).latency!;
      sub.unsubscribe();
      return { total, published: percentiles(hop) };
    };
    let seq = 0;
    const raw = (run: (subject: string) => Promise<RawRun>): Promise<RawRun> => rawRound(nats!.port, ++seq, run);

    // Warm-up (JIT, the stream's first blocks, the consumers' first pulls): not counted.
    const warm = Math.min(2000, o.n);
    await bridgeThroughput(warm);
    await raw((subject) => rawThroughput(nats!.port, subject, warm));
    o.log(`bridge: warmed up with ${warm} messages each way`);

    const pids = { ma: [bridgeA.child.pid!], mb: [bridgeB.child.pid!], routers: routers.map((r) => r.child.pid!), nats: [nats.pid] };
    const cpu = (): Record<keyof typeof pids, number> => Object.fromEntries(Object.entries(pids).map(([k, ps]) => [k, ps.reduce((t, pid) => t + cpuMs(pid), 0)])) as Record<keyof typeof pids, number>;
    for (let i = 0; i < o.rounds; i++) {
      const before = cpu();
      const x = await bridgeThroughput(o.n);
      const after = cpu();
      for (const k of Object.keys(pids) as Array<keyof typeof pids>) result.cpu.bridge[k].push(((after[k] - before[k]) * 1000) / o.n);
      const natsBefore = cpuMs(nats.pid);
      const rawRun = await raw((subject) => rawThroughput(nats!.port, subject, o.n));
      result.cpu.raw.nats.push(((cpuMs(nats.pid) - natsBefore) * 1000) / o.n);
      result.cpu.raw.publisher.push(rawRun.cpuUs!.publisher / o.n);
      result.cpu.raw.consumer.push(rawRun.cpuUs!.consumer / o.n);
      const y = rawRun.perSecond!;
      result.throughput.bridge.push(x);
      result.throughput.raw.push(y);
      o.log(`bridge throughput round ${i + 1}: bridge ${x.toFixed(0)}/s, raw JetStream ${y.toFixed(0)}/s (${(x / y).toFixed(2)}×)`);
    }
    for (let i = 0; i < o.latRounds; i++) {
      const { total: x, published: h } = await bridgeLatency();
      const y = (await raw((subject) => rawLatency(nats!.port, subject, o.rate, o.seconds))).latency!;
      result.latency.bridge.push(x);
      result.latency.published.push(h);
      result.latency.raw.push(y);
      o.log(`bridge latency round ${i + 1} @${o.rate}/s: bridge p50 ${x.p50.toFixed(2)} p99 ${x.p99.toFixed(2)} max ${x.max.toFixed(1)} ms (of which A → NATS p50 ${h.p50.toFixed(2)} p99 ${h.p99.toFixed(2)} max ${h.max.toFixed(1)} ms); raw JetStream p50 ${y.p50.toFixed(2)} p99 ${y.p99.toFixed(2)} max ${y.max.toFixed(1)} ms`);
    }

    // What the bridges say they did (their status file is rewritten each second).
    await sleep(1500);
    const sa = status(a.layout);
    const sb = status(b.layout);
    result.notes.push(`${sent} sent on A; bridge ma published ${sa.published ?? '?'}, bridge mb journaled ${sb.received ?? '?'}, rejected ${sb.rejected ?? '?'}`);
    if (sa.published !== sent || sb.received !== sent) result.notes.push(`bridge counts differ from the ${sent} sent`);
    for (const [name, p] of [['ma', bridgeA], ['mb', bridgeB]] as const) {
      const errors = p.stderr().split('\n').filter((l) => l && !/connected to |--trace-warnings/.test(l));
      if (errors.length) result.notes.push(`bridge ${name} logged: ${errors.slice(-3).join(' / ')}`);
    }
    return result;
  } finally {
    // Bridges first (they write their cursor and status), then the routers, then NATS.
    for (const close of closers) await close().catch(() => undefined);
    for (const p of procs.reverse()) await p.stop().catch(() => undefined);
    await nats?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function ok(r: Reply): Reply {
  if (r.error) throw new Error(r.error);
  return r;
}

async function bus(root: string, agents: string[]): Promise<{ root: string; layout: Layout }> {
  const layout = initRoot(root);
  for (const name of agents) await addAgent(layout, { name });
  return { root, layout };
}

function status(layout: Layout): { published?: number; received?: number; rejected?: number } {
  try {
    return JSON.parse(fs.readFileSync(layout.bridgeStatusFile, 'utf8')) as { published?: number; received?: number; rejected?: number };
  } catch {
    return {};
  }
}
