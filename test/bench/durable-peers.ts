// The durable peers of the bench, measured in the same run as bmad-bus: NATS JetStream (file
// storage, publish with ack, a durable pull consumer acking each message), here in child
// processes (this file, run with `js-pub` / `js-con`), and Redis Streams (XADD, XREADGROUP and
// XACK, appendonly with appendfsync everysec or always) through the bench worker (worker.ts).
// Row 9 (the bridge) and rows 1 and 3 use them.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { makeLine } from './worker.js';

const SELF = fileURLToPath(import.meta.url);
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Publishes awaiting their ack at once, in the raw baseline: as many as the bridge's outbound side allows (MAX_IN_FLIGHT). */
const RAW_IN_FLIGHT = 256;
/** The raw consumer: as the bridge's (bridge.ts ensureConsumer, bridge-inbound.ts pass). */
const RAW_MAX_ACK_PENDING = 1024;
const RAW_PULL_BATCH = 256;

export interface Latency {
  n: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

// ---- NATS JetStream ----------------------------------------------------------------------

/** User + system CPU time of a process so far (ms), from /proc/PID/stat (clock ticks of 10 ms); NaN once it is gone. */
export function cpuMs(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

export interface RawRun {
  perSecond?: number;
  /** CPU time (µs) of the publisher and the consumer child. */
  cpuUs?: { publisher: number; consumer: number };
  latency?: Latency;
}

/** A fresh file stream and durable pull consumer (configured as the bridge's), deleted after the run. */
export async function rawRound(port: number, seq: number, run: (subject: string) => Promise<RawRun>): Promise<RawRun> {
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

/** `count` messages from `writers` publisher processes (each its share) through one consumer process. */
export async function rawThroughput(port: number, subject: string, count: number, writers = 1): Promise<RawRun> {
  const con = child('js-con', { port, stream: streamOf(subject), durable: 'raw', count });
  await con.ready;
  const each = Math.floor(count / writers);
  const pubs = Array.from({ length: writers }, (_, i) => child('js-pub', { port, subject, count: i === 0 ? count - each * (writers - 1) : each }));
  const ps = await Promise.all(pubs.map((p) => p.done)).catch((error: unknown) => (con.kill(), pubs.forEach((p) => p.kill()), Promise.reject(error)));
  const c = await con.done;
  return { perSecond: (count / (c.end! - Math.min(...ps.map((p) => p.start!)))) * 1000, cpuUs: { publisher: ps.reduce((t, p) => t + p.cpuUs!, 0), consumer: c.cpuUs! } };
}

export async function rawLatency(port: number, subject: string, rate: number, seconds: number): Promise<RawRun> {
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

/** Should the bench die first, its children go with it (one exit listener for all of them). */
const living = new Set<() => void>();
process.once('exit', () => living.forEach((kill) => kill()));

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
  const kill = (): void => void (proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL'));
  living.add(kill);
  void done.finally(() => living.delete(kill)).catch(() => undefined);
  return { ready: readyP, done, kill };
}

// ---- the children ------------------------------------------------------------------

export function percentiles(samples: number[]): Latency {
  const s = Float64Array.from(samples).sort();
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { n: s.length, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: s[s.length - 1] ?? NaN };
}

/** The send time a worker line carries after `@@` (see worker.ts makeLine). */
export function stampOf(data: Uint8Array): number {
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
