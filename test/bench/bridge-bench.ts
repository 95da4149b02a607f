// Bench row 9 (`npm run bench -- --only bridge`): two buses on this host linked by their
// `bmad-bus bridge` to one nats-server with JetStream, against raw JetStream on the same server
// in the same run. Bus A's router, bus B's router and both bridges are real processes; a worker
// (worker.ts) writes into A's bus.pipe as agent a-dev and another reads B's inbox of b-dev, the
// "delivered" point of rows 1 and 2. The raw JetStream baseline runs its publisher and its
// consumer in two child processes (this file, run with `js-pub` / `js-con`), as the two bridges are.
// BENCH_BRIDGE_PROF=DIR: the bridges run with `node --cpu-prof --cpu-prof-dir=DIR` (one .cpuprofile each, written at their exit).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import type { Layout } from '../../src/bus/layout.js';
import { addAgent, readRegistry } from '../../src/bus/registry.js';
import { initRoot } from '../../src/bus/root.js';
import { startForeground, startRouter, waitFor, type RunningRouter } from '../helpers/bus.js';
import { natsSkipReason, startNats, type NatsServer } from '../helpers/nats.js';
import { makeLine, type Command, type Reply } from './worker.js';

const SELF = fileURLToPath(import.meta.url);
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Publishes awaiting their ack at once, in the raw baseline: as many as the bridge's outbound side allows (MAX_IN_FLIGHT). */
const RAW_IN_FLIGHT = 256;
/** The raw consumer: as the bridge's (bridge.ts ensureConsumer, bridge-inbound.ts pass). */
const RAW_MAX_ACK_PENDING = 1024;
const RAW_PULL_BATCH = 256;

type CommandInput = Command extends infer C ? (C extends Command ? Omit<C, 'id'> : never) : never;
/** A bench worker (bench.ts Worker): writes or reads on command. */
export interface BenchWorker {
  run(command: CommandInput): { done: Promise<Reply>; ready: Promise<void> };
}

export interface Latency {
  n: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
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

// ---- raw JetStream baseline ------------------------------------------------------------

/** User + system CPU time of a process so far (ms), from /proc/PID/stat (clock ticks of 10 ms); NaN once it is gone. */
function cpuMs(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

interface RawRun {
  perSecond?: number;
  /** CPU time (µs) of the publisher and the consumer child. */
  cpuUs?: { publisher: number; consumer: number };
  latency?: Latency;
}

/** A fresh file stream and durable pull consumer (configured as the bridge's), deleted after the run. */
async function rawRound(port: number, seq: number, run: (subject: string) => Promise<RawRun>): Promise<RawRun> {
  const stream = `RAWBENCH${seq}`;
  const subject = `rawbench.${seq}`;
  const nc = await connect({ servers: `127.0.0.1:${port}` });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.File, num_replicas: 1, duplicate_window: nanos(10 * 60_000) });
    await jsm.consumers.add(stream, { durable_name: 'raw', filter_subject: subject, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: nanos(10_000), max_ack_pending: RAW_MAX_ACK_PENDING });
    try {
      return await run(subject);
    } finally {
      await jsm.streams.delete(stream).catch(() => undefined);
    }
  } finally {
    await nc.close();
  }
}

async function rawThroughput(port: number, subject: string, count: number): Promise<RawRun> {
  const con = child('js-con', { port, stream: streamOf(subject), durable: 'raw', count });
  await con.ready;
  const pub = child('js-pub', { port, subject, count });
  const p = await pub.done.catch((error: unknown) => (con.kill(), Promise.reject(error)));
  const c = await con.done;
  return { perSecond: (count / (c.end! - p.start!)) * 1000, cpuUs: { publisher: p.cpuUs!, consumer: c.cpuUs! } };
}

async function rawLatency(port: number, subject: string, rate: number, seconds: number): Promise<RawRun> {
  const count = Math.max(200, Math.round(rate * seconds));
  const con = child('js-con', { port, stream: streamOf(subject), durable: 'raw', count, stamp: true });
  await con.ready;
  const pub = child('js-pub', { port, subject, count, rate, stamp: true });
  await pub.done.catch((error: unknown) => (con.kill(), Promise.reject(error)));
  return { latency: (await con.done).latency! };
}

const streamOf = (subject: string): string => `RAWBENCH${subject.split('.')[1]}`;

interface ChildArgs {
  port: number;
  subject?: string;
  stream?: string;
  durable?: string;
  count: number;
  rate?: number;
  stamp?: boolean;
}
interface ChildReply {
  ready?: boolean;
  error?: string;
  start?: number;
  end?: number;
  latency?: Latency;
  /** CPU time (µs) from just before the first message to the last. */
  cpuUs?: number;
}

/** This file run as a raw JetStream publisher or consumer; `done` rejects on an error or an early exit. */
function child(role: 'js-pub' | 'js-con', args: ChildArgs): { ready: Promise<void>; done: Promise<ChildReply>; kill: () => void } {
  const proc: ChildProcess = spawn(process.execPath, [SELF, role, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  const done = new Promise<ChildReply>((resolve, reject) => {
    let last: ChildReply | undefined;
    readline.createInterface({ input: proc.stdout! }).on('line', (text) => {
      const r = JSON.parse(text) as ChildReply;
      if (r.ready) return ready();
      last = r;
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), 600_000);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      ready();
      if (last && !last.error) resolve(last);
      else reject(new Error(`raw JetStream ${role}: ${last?.error ?? `exited (${code ?? signal}) without a result`}`));
    });
  });
  // Should the bench die first, the child goes with it.
  const kill = (): void => void (proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL'));
  process.once('exit', kill);
  void done.finally(() => process.removeListener('exit', kill)).catch(() => undefined);
  return { ready: readyP, done, kill };
}

// ---- the children ------------------------------------------------------------------

function percentiles(samples: number[]): Latency {
  const s = Float64Array.from(samples).sort();
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { n: s.length, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: s[s.length - 1] ?? NaN };
}

/** The send time a worker line carries after `@@` (see worker.ts makeLine). */
function stampOf(data: Uint8Array): number {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  const at = text.indexOf('@@');
  return at < 0 ? NaN : Number(text.slice(at + 2, text.indexOf(';', at)));
}

/** Publishes `count` 200-byte lines with ack, at most RAW_IN_FLIGHT unacked; paced at `rate` when given. */
async function jsPub(a: ChildArgs): Promise<ChildReply> {
  // The bridge's own client option (no stack traces built per publish): a fair baseline.
  const nc = await connect({ servers: `127.0.0.1:${a.port}`, noAsyncTraces: true });
  try {
    const js = jetstream(nc);
    let inFlight = 0;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const settled = (): void => {
      inFlight--;
      const w = wake;
      wake = undefined;
      w?.();
    };
    const publish = (data: Uint8Array): void => {
      inFlight++;
      js.publish(a.subject!, data).then(settled, (error: unknown) => {
        failure ??= error;
        settled();
      });
    };
    const below = async (limit: number): Promise<void> => {
      while (inFlight > limit) await new Promise<void>((r) => (wake = r));
    };
    const cpu0 = process.cpuUsage();
    const start = nowMs();
    if (a.rate) {
      let sent = 0;
      while (sent < a.count && failure === undefined) {
        const due = Math.min(a.count, Math.floor(((nowMs() - start) * a.rate) / 1000) + 1);
        if (due > sent) {
          const t = nowMs();
          for (; sent < due; sent++) {
            if (inFlight >= RAW_IN_FLIGHT) await below(RAW_IN_FLIGHT - 1);
            publish(Buffer.from(makeLine('a-dev', 'b-dev', t)));
          }
          continue;
        }
        await sleep(Math.max(0, (sent * 1000) / a.rate - (nowMs() - start)));
      }
    } else {
      const data = Buffer.from(makeLine('a-dev', 'b-dev'));
      for (let i = 0; i < a.count && failure === undefined; i++) {
        if (inFlight >= RAW_IN_FLIGHT) await below(RAW_IN_FLIGHT - 1);
        publish(data);
      }
    }
    await below(0);
    if (failure !== undefined) throw failure;
    const end = nowMs();
    const cpu = process.cpuUsage(cpu0);
    return { start, end, cpuUs: cpu.user + cpu.system };
  } finally {
    await nc.close();
  }
}

/** Takes `count` messages from the durable pull consumer with consume(), acking each. */
async function jsCon(a: ChildArgs): Promise<ChildReply> {
  // The bridge's own client option (no stack traces built per publish): a fair baseline.
  const nc = await connect({ servers: `127.0.0.1:${a.port}`, noAsyncTraces: true });
  try {
    const js = jetstream(nc);
    const consumer = await js.consumers.get(a.stream!, a.durable!);
    const messages = await consumer.consume({ max_messages: RAW_PULL_BATCH });
    const samples: number[] = [];
    let got = 0;
    let end = 0;
    const timer = setTimeout(() => void messages.close(), 600_000);
    process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
    const start = nowMs();
    const cpu0 = process.cpuUsage();
    for await (const m of messages) {
      if (a.stamp) {
        const t = stampOf(m.data);
        if (!Number.isNaN(t)) samples.push(nowMs() - t);
      }
      m.ack();
      if (++got >= a.count) {
        end = nowMs();
        break;
      }
    }
    const cpu = process.cpuUsage(cpu0);
    clearTimeout(timer);
    await messages.close().catch(() => undefined);
    await nc.flush();
    if (got < a.count) throw new Error(`timed out with ${got} of ${a.count}`);
    return { start, end, cpuUs: cpu.user + cpu.system, ...(a.stamp ? { latency: percentiles(samples) } : {}) };
  } finally {
    await nc.close();
  }
}

if (process.argv[1] === SELF && (process.argv[2] === 'js-pub' || process.argv[2] === 'js-con')) {
  const args = JSON.parse(process.argv[3]!) as ChildArgs;
  const run = process.argv[2] === 'js-pub' ? jsPub : jsCon;
  run(args).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`, () => process.exit(0)),
    (error: unknown) => process.stdout.write(`${JSON.stringify({ error: (error as Error)?.message ?? String(error) })}\n`, () => process.exit(1)),
  );
}
