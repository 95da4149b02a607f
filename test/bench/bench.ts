// `npm run bench [-- --quick] [-- --json] [-- --only 1,2|agents|hook|bridge] [-- --agents claude,codex]`: bmad-bus and its
// baselines measured in the same run on the same machine, printed as one
// table (or one JSON object). Every row runs even when a baseline cannot:
// the row then says why. Not run by `npm test`.
// Row 8 (agent-delivery.ts) runs the real agent CLIs of test/agents when they are installed
// (`node test/agents/install-agents.mjs`), else says so; BENCH_AGENTS_IDLE / BENCH_AGENTS_BURST
// set its counts, BENCH_AGENTS (or --agents) its CLIs.
// Row 9 (bridge-bench.ts, `--only bridge`) links two buses through `bmad-bus bridge` and a local
// nats-server -js, against raw JetStream on the same server; skipped when nats-server is missing.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { initRoot } from '../../src/bus/root.js';
import { addAgent } from '../../src/bus/registry.js';
import { segmentFileName } from '../../src/journal/segments.js';
import { DEFAULT_SEGMENT_BYTES } from '../../src/journal/writer.js';
import type { Command, Reply } from './worker.js';
import { benchSendKeysSleep, benchTmuxFanout, benchTmuxInjection } from './tmux-injection.js';
import { benchBridge, type Latency as BridgeLatency } from './bridge-bench.js';
import { cpuMs, rawLatency, rawRound, rawThroughput } from './durable-peers.js';
import { natsSkipReason, startNats as startJetStreamServer, type NatsServer } from '../helpers/nats.js';
import { agentTable, benchAgentDelivery, benchHook, hookTable, installedClis, parseClis, percentiles, type CliBenchResult, type HookVariant } from './agent-delivery.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../../..');
const BIN = path.join(REPO, 'bin', 'bmad-bus');
const WORKER = path.join(HERE, 'worker.js');

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const JSON_OUT = argv.includes('--json');
const onlyArg = argv.find((a) => a.startsWith('--only='))?.slice(7) ?? (argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined);
/** Rows by number or name (`--only agents` is row 8: the real agent CLIs and `bmad-bus hook`). */
const ROW_NAMES: Record<string, number> = { throughput: 1, latency: 2, durability: 3, tmux: 4, cli: 5, memory: 6, scale: 7, agents: 8, hook: 8, bridge: 9 };
const ONLY = onlyArg ? new Set(onlyArg.split(',').map((x) => ROW_NAMES[x.trim()] ?? Number(x))) : undefined;
/** `--only hook`: row 8's `bmad-bus hook` figures without starting any agent CLI. */
const onlyNames = onlyArg?.split(',').map((x) => x.trim()) ?? [];
const HOOK_ONLY = onlyNames.includes('hook') && !onlyNames.includes('agents') && !onlyNames.includes('8');
/** Which agent CLIs row 8 runs: `--agents claude,codex` or BENCH_AGENTS=claude,codex (default: all five). */
const AGENTS_ARG = argv.find((a) => a.startsWith('--agents='))?.slice(9) ?? (argv.includes('--agents') ? argv[argv.indexOf('--agents') + 1] : undefined) ?? process.env.BENCH_AGENTS;
/** Extra node flags for the router process (e.g. `--router-flags=--max-semi-space-size=32`). */
const ROUTER_FLAGS = (argv.find((a) => a.startsWith('--router-flags='))?.slice(15) ?? '').split(' ').filter(Boolean);

const CFG = QUICK
  ? { n: 20_000, rounds: 2, latSeconds: 1, halfSeconds: 0.5, latRounds: 1, memN: Number(process.env.BENCH_MEM_N ?? 100_000), scaleN: 20_000, journalN: 500_000, cliRuns: 5, bashN: 2000, tmuxMsgs: 60, fanoutEach: 5, sendKeys: 5, durN: 20_000, memVariants: 1 }
  : { n: 1_000_000, rounds: 3, latSeconds: 10, halfSeconds: 5, latRounds: 3, memN: 1_000_000, scaleN: 300_000, journalN: 10_000_000, cliRuns: 15, bashN: 20_000, tmuxMsgs: 300, fanoutEach: 30, sendKeys: 20, durN: 300_000, memVariants: 2 };
/** Row 8: messages one at a time into an idle agent, messages in the burst into a 3 s model, runs per hook figure. */
const AGENT_CFG = {
  idle: Number(process.env.BENCH_AGENTS_IDLE ?? (QUICK ? 3 : 5)),
  burst: Number(process.env.BENCH_AGENTS_BURST ?? (QUICK ? 3 : 5)),
  slowSeconds: 3,
  hookRuns: QUICK ? 5 : 15,
};
/** Row 9: messages per throughput round, and the latency run (rate, seconds). */
const BRIDGE_CFG = { n: Number(process.env.BENCH_BRIDGE_N ?? (QUICK ? 2_000 : 20_000)), rate: 1000, seconds: QUICK ? 2 : 5 };
let agentResults: CliBenchResult[] | undefined;
let hookResults: HookVariant[] | undefined;
let agentsSkipped: string | undefined;

// ---- results ------------------------------------------------------------

interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}
interface Figure {
  row: number;
  name: string;
  unit: string;
  value?: Stat;
  baseline?: { name: string; value?: Stat; unavailable?: string };
  /** bmad-bus ÷ baseline (or as the target says). */
  ratio?: number;
  target?: string;
  pass?: boolean;
  unavailable?: string;
  note?: string;
}
const figures: Figure[] = [];
const unavailable: Array<{ what: string; why: string }> = [];

function stat(values: number[]): Stat {
  const s = [...values].sort((a, b) => a - b);
  return { median: s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2, min: s[0]!, max: s.at(-1)!, n: s.length };
}

function log(line: string): void {
  process.stderr.write(`[bench ${((performance.now() / 1000) | 0).toString().padStart(4)}s] ${line}\n`);
}

// ---- processes ----------------------------------------------------------

const children = new Set<ChildProcess>();
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}
function killAll(): void {
  for (const c of children) if (c.pid && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type CommandInput = Command extends infer C ? (C extends Command ? Omit<C, 'id'> : never) : never;

/** A long-lived worker process (worker.ts) that writes or reads on command. */
class Worker {
  private child: ChildProcess;
  private next = 1;
  private waiting = new Map<number, { done: (r: Reply) => void; ready?: () => void }>();
  constructor() {
    this.child = track(spawn(process.execPath, [WORKER], { stdio: ['pipe', 'pipe', 'inherit'] }));
    readline.createInterface({ input: this.child.stdout! }).on('line', (text) => {
      const r = JSON.parse(text) as Reply;
      const w = this.waiting.get(r.id);
      if (!w) return;
      if (r.ready) return w.ready?.();
      this.waiting.delete(r.id);
      w.done(r);
    });
  }
  /** Sends a command; `ready` resolves when a reader/subscriber is listening. */
  run(command: CommandInput): { done: Promise<Reply>; ready: Promise<void> } {
    const id = this.next++;
    let ready!: () => void;
    const readyP = new Promise<void>((r) => (ready = r));
    const done = new Promise<Reply>((resolve) => this.waiting.set(id, { done: (r) => (ready(), resolve(r)), ready }));
    this.child.stdin!.write(`${JSON.stringify({ ...command, id })}\n`);
    return { done, ready: readyP };
  }
  close(): void {
    this.child.stdin!.end();
  }
}

let pool: Worker[] = [];
/** `n` writer workers plus one reader, spawned once and reused. */
function workers(n: number): { reader: Worker; writers: Worker[] } {
  while (pool.length < n + 1) pool.push(new Worker());
  return { reader: pool[0]!, writers: pool.slice(1, n + 1) };
}

function ok(r: Reply): Reply {
  if (r.error) throw new Error(r.error);
  return r;
}

// ---- routers and roots ---------------------------------------------------

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'bmad-bench-'));
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));
let rootSeq = 0;

async function freshRoot(agents: string[] = ['sink']): Promise<{ root: string; inbox: (name?: string) => string }> {
  const root = path.join(TMP, `root-${++rootSeq}`);
  const layout = initRoot(root);
  for (const name of agents) await addAgent(layout, { name });
  return { root, inbox: (name = 'sink') => layout.inboxPipe(name) };
}

interface Router {
  pid: number;
  startMs: number;
  stop: () => Promise<void>;
  rss: () => number;
  hwm: () => number;
}

function procStatus(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function startRouter(root: string, options: { durability?: string; nodeFlags?: string[]; cpuProf?: string } = {}): Promise<Router> {
  const flags = [...ROUTER_FLAGS, ...(options.nodeFlags ?? [])];
  const prof = options.cpuProf ?? process.env.BENCH_CPU_PROF;
  if (prof) flags.push('--cpu-prof', `--cpu-prof-dir=${prof}`);
  const args = [...flags, BIN, 'router', '--dir', root, ...(options.durability ? ['--durability', options.durability] : [])];
  const t0 = nowMs();
  const child = track(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } }));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
    void exited.then(() => reject(new Error(`router exited before ready: ${stderr}`)));
    setTimeout(() => reject(new Error(`router not ready in 120 s: ${stderr}`)), 120_000).unref();
  });
  const startMs = nowMs() - t0;
  const pid = child.pid!;
  return {
    pid,
    startMs,
    rss: () => procStatus(pid, 'VmRSS'),
    hwm: () => procStatus(pid, 'VmHWM'),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

function mkfifos(files: string[]): void {
  for (let i = 0; i < files.length; i += 500) execFileSync('mkfifo', ['-m', '600', ...files.slice(i, i + 500)]);
}

// ---- the measurements -------------------------------------------------------

/** Writers write `total` messages into `pipes` (writer i uses pipes[i % len]); one reader reads `readPipe`. */
async function throughput(opts: { pipes: string[]; readPipe: string; writers: number; batch: boolean; total: number; to?: string; froms?: string[] }): Promise<number> {
  const { reader, writers } = workers(opts.writers);
  const r = reader.run({ op: 'read', pipe: opts.readPipe, count: opts.total, timeoutMs: 600_000 });
  await r.ready;
  const each = Math.floor(opts.total / opts.writers);
  const ws = writers.map((w, i) =>
    w.run({ op: 'write', pipe: opts.pipes[i % opts.pipes.length]!, count: i === 0 ? opts.total - each * (opts.writers - 1) : each, batch: opts.batch, from: opts.froms?.[i] ?? `w${i + 1}`, to: opts.to ?? 'sink' }).done,
  );
  const results = (await Promise.all(ws)).map(ok);
  const got = ok(await r.done);
  const start = Math.min(...results.map((x) => x.start!));
  return (opts.total / (got.end! - start)) * 1000;
}

async function latency(opts: { pipe: string; readPipe: string; rate: number; seconds: number }): Promise<NonNullable<Reply['latency']>> {
  const { reader, writers } = workers(1);
  const count = Math.max(200, Math.round(opts.rate * opts.seconds));
  const r = reader.run({ op: 'read', pipe: opts.readPipe, count, stamp: true, timeoutMs: 120_000 });
  await r.ready;
  ok(await writers[0]!.run({ op: 'write', pipe: opts.pipe, count, batch: true, rate: opts.rate, stamp: true, from: 'w1', to: 'sink' }).done);
  return ok(await r.done).latency!;
}

async function rounds(n: number, what: string, f: () => Promise<number>): Promise<Stat> {
  const values: number[] = [];
  for (let i = 0; i < n; i++) values.push(await f());
  const s = stat(values);
  log(`${what}: ${fmtNum(s.median)} (${fmtNum(s.min)}–${fmtNum(s.max)})`);
  return s;
}

// ---- NATS and Redis servers ---------------------------------------------------

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Installs a Debian package when its program is missing; returns why it cannot run, if so. */
function ensureProgram(program: string, pkg: string): string | undefined {
  if (spawnSync('sh', ['-c', `command -v ${program}`]).status === 0) return undefined;
  log(`${program} missing: apt-get install ${pkg}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update'], { env, encoding: 'utf8', timeout: 300_000 });
  if (update.status !== 0) return `apt-get update failed: ${(update.stderr || update.error?.message || '').trim().split('\n').at(-1)}`;
  const install = spawnSync('apt-get', ['install', '-y', pkg], { env, encoding: 'utf8', timeout: 600_000 });
  if (install.status !== 0) return `apt-get install ${pkg} failed: ${(install.stderr || install.error?.message || '').trim().split('\n').at(-1)}`;
  return spawnSync('sh', ['-c', `command -v ${program}`]).status === 0 ? undefined : `${pkg} installed but ${program} not found`;
}

async function clientAvailable(name: string): Promise<string | undefined> {
  try {
    await import(name);
    return undefined;
  } catch (error) {
    return `npm client \`${name}\` not installed (npm install -D ${name}): ${(error as Error).message.split('\n')[0]}`;
  }
}

interface Server {
  port: number;
  stop: () => Promise<void>;
}

async function waitPort(port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const okay = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (okay) return true;
    await sleep(50);
  }
  return false;
}

async function startServer(program: string, args: (port: number) => string[]): Promise<Server> {
  const port = await freePort();
  const child = track(spawn(program, args(port), { stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  if (!(await waitPort(port, 10_000))) {
    child.kill('SIGKILL');
    throw new Error(`${program} did not listen on ${port}: ${stderr.trim()}`);
  }
  return {
    port,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(child.pid!, 'SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

async function startNats(): Promise<Server | string> {
  const missing = ensureProgram('nats-server', 'nats-server') ?? (await clientAvailable('nats'));
  if (missing) return missing;
  const conf = path.join(TMP, 'nats.conf');
  // A subscriber that lags is not cut off as a slow consumer during a burst of 1M messages.
  fs.writeFileSync(conf, 'max_pending: 1GB\nwrite_deadline: "60s"\nmax_payload: 1MB\n');
  try {
    return await startServer('nats-server', (port) => ['-a', '127.0.0.1', '-p', String(port), '-c', conf]);
  } catch (error) {
    return (error as Error).message;
  }
}

async function startRedis(): Promise<Server | string> {
  const missing = ensureProgram('redis-server', 'redis-server') ?? (await clientAvailable('ioredis'));
  if (missing) return missing;
  try {
    return await startServer('redis-server', (port) => [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', TMP,
      '--client-output-buffer-limit', 'pubsub 0 0 0',
    ]);
  } catch (error) {
    return (error as Error).message;
  }
}

/** Redis with its append-only file on, fsync'd each second or at every write: the durable Redis Streams peer. */
async function startRedisStreams(fsync: 'everysec' | 'always'): Promise<Server | string> {
  const missing = ensureProgram('redis-server', 'redis-server') ?? (await clientAvailable('ioredis'));
  if (missing) return missing;
  const dir = fs.mkdtempSync(path.join(TMP, `redis-aof-${fsync}-`));
  try {
    return await startServer('redis-server', (port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', fsync, '--dir', dir]);
  } catch (error) {
    return (error as Error).message;
  }
}

/** nats-server -js with a temp store: the durable NATS peer (the same server row 9 uses). */
let jetStreamServer: NatsServer | string | undefined;
async function jetStream(): Promise<NatsServer | string> {
  if (jetStreamServer !== undefined) return jetStreamServer;
  const skip = natsSkipReason();
  jetStreamServer = skip ? skip : await startJetStreamServer({ host: '127.0.0.1' }).catch((error: unknown) => (error as Error).message);
  return jetStreamServer;
}
let jetStreamRound = 0;

/** JetStream: `writers` publisher processes, publish with ack (≤256 in flight each), into a file stream; one durable pull consumer acking each. */
async function jetStreamThroughput(server: NatsServer, writers: number, total: number): Promise<number> {
  const r = await rawRound(server.port, ++jetStreamRound, (subject) => rawThroughput(server.port, subject, total, writers));
  return r.perSecond!;
}

async function jetStreamLatency(server: NatsServer, rate: number, seconds: number): Promise<NonNullable<Reply['latency']>> {
  const r = await rawRound(server.port, ++jetStreamRound, (subject) => rawLatency(server.port, subject, rate, seconds));
  return r.latency!;
}

/** Redis Streams: XADD pipelined 1,000 at a time per writer; one consumer group reader, XREADGROUP then XACK. */
function redisStreamThroughput(port: number, writers: number, total: number): Promise<number> {
  const stream = randomName('bench');
  return peerThroughput(writers, total, { op: 'redisXread', port, stream, count: total, timeoutMs: 300_000 }, (count, from) => ({ op: 'redisXadd', port, stream, count, from }));
}

function redisStreamLatency(port: number, rate: number, seconds: number): Promise<NonNullable<Reply['latency']>> {
  const stream = randomName('lat');
  return peerLatency(rate, seconds, (count) => ({ op: 'redisXread', port, stream, count, stamp: true, timeoutMs: 120_000 }), (count) => ({ op: 'redisXadd', port, stream, count, rate, stamp: true, from: 'w1' }));
}

/** The durable peers' servers, started once for rows 1 and 3. */
const peers: { jetStream?: NatsServer | string; everysec?: Server | string; always?: Server | string } = {};
async function startPeers(): Promise<void> {
  peers.jetStream ??= await jetStream();
  peers.everysec ??= await startRedisStreams('everysec');
  peers.always ??= await startRedisStreams('always');
  for (const [what, p] of [['NATS JetStream', peers.jetStream], ['Redis Streams (AOF)', peers.everysec]] as const) {
    if (typeof p === 'string' && !unavailable.some((u) => u.what === what)) unavailable.push({ what, why: p });
  }
}
/** Stopped after each row that uses them: a store syncing in the background must not disturb the rows in between. */
async function stopPeers(): Promise<void> {
  for (const key of ['jetStream', 'everysec', 'always'] as const) {
    const p = peers[key];
    if (typeof p === 'object') await p.stop();
    delete peers[key];
  }
  jetStreamServer = undefined;
}
const JETSTREAM_NAME = 'NATS JetStream: file stream, publish with ack → pull consumer + ack';
const redisStreamsName = (fsync: string): string => `Redis Streams, AOF appendfsync ${fsync}: XADD → XREADGROUP + XACK`;

/** A peer's throughput through the bench workers: one reader command, then `writers` writers sharing `total`. */
async function peerThroughput(writers: number, total: number, readCommand: CommandInput, writeCommand: (count: number, from: string) => CommandInput): Promise<number> {
  const { reader, writers: ws } = workers(writers);
  const r = reader.run(readCommand);
  await r.ready;
  const each = Math.floor(total / writers);
  const results = (await Promise.all(ws.map((w, i) => w.run(writeCommand(i === 0 ? total - each * (writers - 1) : each, `w${i + 1}`)).done))).map(ok);
  const got = ok(await r.done);
  return (total / (got.end! - Math.min(...results.map((x) => x.start!)))) * 1000;
}

const randomName = (prefix: string): string => `${prefix}.${Math.random().toString(36).slice(2)}`;

function natsThroughput(port: number, writers: number, total: number): Promise<number> {
  const subject = randomName('bench');
  return peerThroughput(writers, total, { op: 'natsSub', port, subject, count: total, timeoutMs: 300_000 }, (count, from) => ({ op: 'natsPub', port, subject, count, from }));
}

function redisThroughput(port: number, writers: number, total: number): Promise<number> {
  const channel = randomName('bench');
  return peerThroughput(writers, total, { op: 'redisSub', port, channel, count: total, timeoutMs: 300_000 }, (count, from) => ({ op: 'redisPub', port, channel, count, from }));
}

/** A peer's latency through the bench workers: one reader, one writer paced at `rate` for `seconds`, stamped. */
async function peerLatency(rate: number, seconds: number, readCommand: (count: number) => CommandInput, writeCommand: (count: number) => CommandInput): Promise<NonNullable<Reply['latency']>> {
  const { reader, writers } = workers(1);
  const count = Math.max(200, Math.round(rate * seconds));
  const r = reader.run(readCommand(count));
  await r.ready;
  ok(await writers[0]!.run(writeCommand(count)).done);
  return ok(await r.done).latency!;
}

function natsLatency(port: number, rate: number, seconds: number): Promise<NonNullable<Reply['latency']>> {
  const subject = randomName('lat');
  return peerLatency(rate, seconds, (count) => ({ op: 'natsSub', port, subject, count, stamp: true, timeoutMs: 120_000 }), (count) => ({ op: 'natsPub', port, subject, count, rate, stamp: true, from: 'w1' }));
}

// ---- rows ------------------------------------------------------------------

/** Filled by row 1, used by row 2 (half the measured maximum). */
const maxima: { router?: number; raw?: number; nats?: number } = {};
let nats: Server | string | undefined;
let redis: Server | string | undefined;

async function row1(): Promise<void> {
  const { root, inbox } = await freshRoot();
  const router = await startRouter(root);
  const raw = path.join(TMP, 'raw.fifo');
  mkfifos([raw]);
  nats = await startNats();
  redis = await startRedis();
  if (typeof nats === 'string') unavailable.push({ what: 'NATS core', why: nats });
  if (typeof redis === 'string') unavailable.push({ what: 'Redis pub/sub', why: redis });
  await startPeers();
  try {
    for (const w of [1, 4, 16]) {
      let natsStat: Stat | undefined;
      let redisStat: Stat | undefined;
      if (typeof nats === 'object') natsStat = await rounds(CFG.rounds, `NATS ${w}w`, () => natsThroughput((nats as Server).port, w, CFG.n));
      if (typeof redis === 'object') redisStat = await rounds(CFG.rounds, `Redis ${w}w`, () => redisThroughput((redis as Server).port, w, CFG.n));
      // The durable peers keep every message, as the bus does: fewer messages a round (they are 10× slower than NATS core).
      const js = peers.jetStream;
      const jsStat = typeof js === 'object' ? await rounds(CFG.rounds, `JetStream ${w}w`, () => jetStreamThroughput(js, w, CFG.durN)) : undefined;
      const aof = peers.everysec;
      const streamsStat = typeof aof === 'object' ? await rounds(CFG.rounds, `Redis Streams everysec ${w}w`, () => redisStreamThroughput(aof.port, w, CFG.durN)) : undefined;
      for (const batch of [false, true]) {
        const how = batch ? 'batched (4 KB writes)' : 'per-line writes';
        const bus = await rounds(CFG.rounds, `router ${w}w ${how}`, () => throughput({ pipes: [path.join(root, 'bus.pipe')], readPipe: inbox(), writers: w, batch, total: CFG.n }));
        const rawS = await rounds(CFG.rounds, `raw FIFO ${w}w ${how}`, () => throughput({ pipes: [raw], readPipe: raw, writers: w, batch, total: CFG.n }));
        if (w === 1 && batch) {
          maxima.router = bus.median;
          maxima.raw = rawS.median;
          if (natsStat) maxima.nats = natsStat.median;
        }
        const name = `throughput, ${w} writer${w > 1 ? 's' : ''}, ${how}`;
        figures.push({ row: 1, name, unit: 'msg/s', value: bus, baseline: { name: 'raw Node FIFO→Node', value: rawS }, ratio: bus.median / rawS.median });
        figures.push({
          row: 1, name, unit: 'msg/s', value: bus,
          baseline: { name: 'NATS core pub/sub', ...(natsStat ? { value: natsStat } : { unavailable: String(nats) }) },
          ...(natsStat ? { ratio: bus.median / natsStat.median, pass: bus.median >= natsStat.median } : {}),
          target: '≥ NATS',
        });
        figures.push({
          row: 1, name, unit: 'msg/s', value: bus,
          baseline: { name: 'Redis PUBLISH/SUBSCRIBE', ...(redisStat ? { value: redisStat } : { unavailable: String(redis) }) },
          ...(redisStat ? { ratio: bus.median / redisStat.median } : {}),
        });
        figures.push({
          row: 1, name, unit: 'msg/s', value: bus,
          baseline: { name: JETSTREAM_NAME, ...(jsStat ? { value: jsStat } : { unavailable: String(js) }) },
          ...(jsStat ? { ratio: bus.median / jsStat.median, pass: bus.median >= 2 * jsStat.median } : {}),
          target: '≥ 2× JetStream',
        });
        figures.push({
          row: 1, name, unit: 'msg/s', value: bus,
          baseline: { name: redisStreamsName('everysec'), ...(streamsStat ? { value: streamsStat } : { unavailable: String(aof) }) },
          ...(streamsStat ? { ratio: bus.median / streamsStat.median } : {}),
        });
      }
    }
    figures.push({ row: 1, name: 'router RSS after the throughput rows', unit: 'MB', value: stat([router.rss() / 2 ** 20]), note: `peak ${(router.hwm() / 2 ** 20).toFixed(0)} MB` });
  } finally {
    await router.stop();
    await stopPeers();
  }
}

/**
 * Before a latency row: the rows before it left hundreds of MB of journal in
 * the page cache, and its writeback made every fsync (bmad-bus's and the
 * durable peers') slow for a while after. `sync` waits it out.
 */
function settleDisk(): void {
  const t = nowMs();
  spawnSync('sync');
  log(`sync: ${(nowMs() - t).toFixed(0)} ms`);
}

async function row2(): Promise<void> {
  settleDisk();
  const { root, inbox } = await freshRoot();
  const router = await startRouter(root);
  const raw = path.join(TMP, 'raw-lat.fifo');
  mkfifos([raw]);
  try {
    const lat = async (what: string, f: () => Promise<NonNullable<Reply['latency']>>): Promise<{ p50: Stat; p99: Stat; p999: Stat }> => {
      const xs: NonNullable<Reply['latency']>[] = [];
      for (let i = 0; i < CFG.latRounds; i++) xs.push(await f());
      const r = { p50: stat(xs.map((x) => x.p50)), p99: stat(xs.map((x) => x.p99)), p999: stat(xs.map((x) => x.p999)) };
      log(`${what}: p50 ${r.p50.median.toFixed(3)} p99 ${r.p99.median.toFixed(3)} p99.9 ${r.p999.median.toFixed(3)} ms`);
      return r;
    };
    for (const [label, rate] of [['1,000 msg/s', 1000], ['half max', 0]] as const) {
      const routerRate = rate || Math.round((maxima.router ?? 100_000) / 2);
      const rawRate = rate || Math.round((maxima.raw ?? 200_000) / 2);
      const natsRate = rate || Math.round((maxima.nats ?? 100_000) / 2);
      const seconds = rate ? CFG.latSeconds : CFG.halfSeconds;
      const bus = await lat(`router latency @${routerRate}`, () => latency({ pipe: path.join(root, 'bus.pipe'), readPipe: inbox(), rate: routerRate, seconds }));
      const rawL = await lat(`raw FIFO latency @${rawRate}`, () => latency({ pipe: raw, readPipe: raw, rate: rawRate, seconds }));
      const natsL = typeof nats === 'object' ? await lat(`NATS latency @${natsRate}`, () => natsLatency((nats as Server).port, natsRate, seconds)) : undefined;
      for (const q of ['p50', 'p99', 'p999'] as const) {
        const qn = q === 'p999' ? 'p99.9' : q;
        const target = rate ? (q === 'p50' ? 1 : q === 'p99' ? 5 : undefined) : undefined;
        const name = `latency ${qn} at ${label} (router ${fmtNum(routerRate)}/s)`;
        figures.push({
          row: 2, name, unit: 'ms', value: bus[q], baseline: { name: `raw FIFO hop${rate ? '' : ` @${fmtNum(rawRate)}/s`}`, value: rawL[q] }, ratio: bus[q].median / rawL[q].median,
          ...(target ? { target: `< ${target} ms`, pass: bus[q].median < target } : {}),
        });
        figures.push({
          row: 2, name, unit: 'ms', value: bus[q],
          baseline: { name: `NATS pub→server→sub${rate ? '' : ` @${fmtNum(natsRate)}/s`}`, ...(natsL ? { value: natsL[q] } : { unavailable: String(nats) }) },
          ...(natsL ? { ratio: bus[q].median / natsL[q].median } : {}),
        });
      }
    }
  } finally {
    await router.stop();
  }
}

async function row3(): Promise<void> {
  settleDisk();
  await startPeers();
  try {
    await durabilityRows();
  } finally {
    await stopPeers();
  }
}

async function durabilityRows(): Promise<void> {
  // The durable peers, once: JetStream (it keeps messages in its file store, synced by the OS), and
  // Redis Streams with its AOF fsync'd each second (as durability batch, close enough) or at every write (as message).
  const js = peers.jetStream;
  const peerTp: Record<string, Stat | string> = {};
  const peerP99: Record<string, Stat | string> = {};
  const p99Of = async (what: string, f: () => Promise<NonNullable<Reply['latency']>>): Promise<Stat> => {
    const xs: number[] = [];
    for (let i = 0; i < CFG.latRounds; i++) xs.push((await f()).p99);
    log(`${what} p99 at 1,000 msg/s: ${stat(xs).median.toFixed(2)} ms`);
    return stat(xs);
  };
  if (typeof js === 'object') {
    peerTp.jetStream = await rounds(CFG.rounds, 'JetStream 1w', () => jetStreamThroughput(js, 1, CFG.durN));
    peerP99.jetStream = await p99Of('JetStream', () => jetStreamLatency(js, 1000, CFG.latSeconds));
  } else peerTp.jetStream = peerP99.jetStream = String(js);
  for (const fsync of ['everysec', 'always'] as const) {
    const server = peers[fsync];
    if (typeof server !== 'object') {
      peerTp[fsync] = peerP99[fsync] = String(server);
      continue;
    }
    peerTp[fsync] = await rounds(CFG.rounds, `Redis Streams ${fsync} 1w`, () => redisStreamThroughput(server.port, 1, CFG.durN));
    peerP99[fsync] = await p99Of(`Redis Streams ${fsync}`, () => redisStreamLatency(server.port, 1000, CFG.latSeconds));
  }
  const against = (value: Stat, key: string, name: string, target?: { factor: number; text: string }): Omit<Figure, 'row' | 'name' | 'unit'> => {
    const peer = peerTp[key];
    if (typeof peer === 'string' || peer === undefined) return { value, baseline: { name, unavailable: String(peer) } };
    return { value, baseline: { name, value: peer }, ratio: value.median / peer.median, ...(target ? { target: target.text, pass: value.median >= target.factor * peer.median } : {}) };
  };
  let batchThroughput: number | undefined;
  for (const durability of ['batch', 'message', 'never']) {
    const { root, inbox } = await freshRoot();
    const router = await startRouter(root, { durability });
    try {
      const tp = await rounds(CFG.rounds, `durability ${durability} throughput`, () => throughput({ pipes: [path.join(root, 'bus.pipe')], readPipe: inbox(), writers: 1, batch: true, total: CFG.durN }));
      const p99s: number[] = [];
      for (let i = 0; i < CFG.latRounds; i++) p99s.push((await latency({ pipe: path.join(root, 'bus.pipe'), readPipe: inbox(), rate: 1000, seconds: CFG.latSeconds })).p99);
      const p99 = stat(p99s);
      if (durability === 'batch') batchThroughput = tp.median;
      const tpName = `durability ${durability}: throughput (1 writer, batched)`;
      const p99Name = `durability ${durability}: p99 latency at 1,000 msg/s`;
      figures.push({ row: 3, name: tpName, unit: 'msg/s', value: tp, ...(batchThroughput && durability !== 'batch' ? { baseline: { name: 'durability batch', value: stat([batchThroughput]) }, ratio: tp.median / batchThroughput } : {}) });
      figures.push({ row: 3, name: tpName, unit: 'msg/s', ...against(tp, 'jetStream', JETSTREAM_NAME, { factor: 2, text: '≥ 2× JetStream' }) });
      // The Redis whose fsync matches: every write for `message`, each second otherwise.
      const fsync = durability === 'message' ? 'always' : 'everysec';
      figures.push({ row: 3, name: tpName, unit: 'msg/s', ...against(tp, fsync, redisStreamsName(fsync)) });
      figures.push({ row: 3, name: p99Name, unit: 'ms', value: p99 });
      for (const [key, name] of [['jetStream', JETSTREAM_NAME], [fsync, redisStreamsName(fsync)]] as const) {
        const peer = peerP99[key];
        figures.push({ row: 3, name: p99Name, unit: 'ms', value: p99, baseline: typeof peer === 'object' ? { name, value: peer } : { name, unavailable: String(peer) }, ...(typeof peer === 'object' ? { ratio: p99.median / peer.median } : {}) });
      }
    } finally {
      await router.stop();
    }
  }
}

async function row4(): Promise<void> {
  if (spawnSync('sh', ['-c', 'command -v tmux']).status !== 0) {
    figures.push({ row: 4, name: 'tmux injection', unit: 'msg/s', unavailable: 'tmux not installed' });
    return;
  }
  const control: number[] = [];
  const controlPaste: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < CFG.latRounds; i++) {
    const fs = await benchTmuxInjection({ messages: CFG.tmuxMsgs });
    for (const f of fs) {
      if (f.mode === 'control' && f.kind === 'verified') control.push(f.perSecond);
      if (f.mode === 'control' && f.kind === 'paste') controlPaste.push(f.perSecond);
      if (f.mode === 'plain' && f.kind === 'paste') plain.push(f.perSecond);
    }
  }
  const c = stat(control);
  const p = stat(plain);
  log(`tmux control verified ${c.median}/s, control paste ${stat(controlPaste).median}/s, spawned paste ${p.median}/s`);
  const fan = await benchTmuxFanout({ panes: 16, messagesPerPane: CFG.fanoutEach });
  log(`tmux 16 panes ${fan.perSecond}/s (${fan.counted}/${fan.messages} counted)`);
  const sk = await benchSendKeysSleep({ messages: CFG.sendKeys });
  log(`tmux send-keys+sleep ${sk.perSecond}/s`);
  figures.push({ row: 4, name: 'tmux: 1 pane, verified injector (control mode, delay 0)', unit: 'msg/s', value: c, target: '≥ 1,000', pass: c.median >= 1000 });
  figures.push({ row: 4, name: 'tmux: 1 pane, verified injector (control mode, delay 0)', unit: 'msg/s', value: c, baseline: { name: 'spawned tmux per command (load+paste)', value: p }, ratio: c.median / p.median, target: '≥ 10×', pass: c.median / p.median >= 10 });
  figures.push({ row: 4, name: 'tmux: 1 pane, verified injector (control mode, delay 0)', unit: 'msg/s', value: c, baseline: { name: 'send-keys + 0.5 s sleep + Enter', value: stat([sk.perSecond]) }, ratio: c.median / sk.perSecond, note: `${sk.counted}/${sk.messages} counted` });
  figures.push({ row: 4, name: 'tmux: 1 pane, raw paste+submit (control mode)', unit: 'msg/s', value: stat(controlPaste) });
  figures.push({ row: 4, name: 'tmux: 16 panes at once, verified injector', unit: 'msg/s', value: stat([fan.perSecond]), note: `${fan.counted}/${fan.messages} counted by the panes` });
}

async function row5(): Promise<void> {
  const { root } = await freshRoot(['sink']);
  const router = await startRouter(root);
  try {
    const wall = (cmd: string, args: string[]): number => {
      const t = nowMs();
      const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
      return nowMs() - t;
    };
    const node0: number[] = [];
    const send: number[] = [];
    wall(process.execPath, [BIN, '--dir', root, 'send', 'sink', 'warm-up']);
    for (let i = 0; i < CFG.cliRuns; i++) {
      node0.push(wall(process.execPath, ['-e', '0']));
      send.push(wall(process.execPath, [BIN, '--dir', root, 'send', 'sink', `hello ${i}`]));
    }
    const n = stat(node0);
    const s = stat(send);
    log(`send ${s.median.toFixed(0)} ms vs node -e 0 ${n.median.toFixed(0)} ms`);
    figures.push({ row: 5, name: '`bmad-bus send` wall time', unit: 'ms', value: s, baseline: { name: '`node -e 0`', value: n }, ratio: s.median / n.median, target: '≤ 2×', pass: s.median / n.median <= 2 });

    const busSh = path.join(REPO, 'pipes', 'bus.sh');
    const text = 'y'.repeat(150);
    const line = `{"from":"w1","to":"sink","body":"${'y'.repeat(200 - 36)}"}`;
    const loop = (body: string): number => {
      const r = spawnSync('bash', ['-c', `${body}\nt0=$EPOCHREALTIME\nfor ((i=0;i<${CFG.bashN};i++)); do ${'STEP'}; done\nt1=$EPOCHREALTIME\necho "$t0 $t1"`.replace('STEP', body.includes('bus.sh') ? `bus_send sink "${text} $i"` : `printf '%s\\n' '${line}' > "$P"`)], {
        encoding: 'utf8',
        env: { ...process.env, BMAD_BUS_DIR: root, BMAD_AGENT: 'w1', P: path.join(root, 'bus.pipe') },
      });
      const [a, b] = r.stdout.trim().split(/\s+/).map(Number);
      if (r.status !== 0 || !a || !b) throw new Error(`bash loop failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
      return CFG.bashN / (b - a);
    };
    const printf = await rounds(CFG.rounds, 'bash printf loop', async () => loop(':'));
    if (!fs.existsSync(busSh)) {
      figures.push({ row: 5, name: 'bash loop through pipes/bus.sh', unit: 'msg/s', unavailable: 'pipes/bus.sh is missing', baseline: { name: 'bash `printf > pipe` loop', value: printf } });
    } else {
      try {
        const bus = await rounds(CFG.rounds, 'bash bus_send loop', async () => loop(`source '${busSh}'`));
        figures.push({ row: 5, name: 'bash loop through pipes/bus.sh (bus_send)', unit: 'msg/s', value: bus, baseline: { name: 'bash `printf > pipe` loop', value: printf }, ratio: bus.median / printf.median, target: '≥ 0.5×', pass: bus.median / printf.median >= 0.5 });
      } catch (error) {
        figures.push({ row: 5, name: 'bash loop through pipes/bus.sh', unit: 'msg/s', unavailable: (error as Error).message, baseline: { name: 'bash `printf > pipe` loop', value: printf } });
      }
    }
  } finally {
    await router.stop();
  }
}

/** Router RSS while `n` messages pile up for an unread inbox (100 agents), then the catch-up. */
async function memoryRun(n: number, nodeFlags: string[]): Promise<{ idle: number; idleCpu: number; peak: number; catchUp: number; after: number }> {
  const agents = Array.from({ length: 100 }, (_, i) => (i === 0 ? 'sink' : `agent${i}`));
  const { root, inbox } = await freshRoot(agents);
  const router = await startRouter(root, { nodeFlags });
  try {
    await sleep(QUICK ? 800 : 1500);
    // Idle: its timers and status file only. CPU from /proc (10 ms ticks), over a window long enough for them.
    const window = QUICK ? 3000 : 10_000;
    const cpu0 = cpuMs(router.pid);
    const t0 = nowMs();
    await sleep(window);
    const idleCpu = (cpuMs(router.pid) - cpu0) / (nowMs() - t0);
    const idle = router.rss();
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, router.rss())), 50);
    const { writers } = workers(1);
    ok(await writers[0]!.run({ op: 'write', pipe: path.join(root, 'bus.pipe'), count: n, batch: true, from: 'w1', to: 'sink' }).done);
    // Wait until the router has journaled everything (its status file, rewritten each second).
    const status = path.join(root, 'state', 'router-status.json');
    for (let i = 0; i < 600; i++) {
      try {
        if ((JSON.parse(fs.readFileSync(status, 'utf8')) as { accepted: number }).accepted >= n) break;
      } catch {
        // being replaced
      }
      await sleep(100);
    }
    await sleep(1000);
    clearInterval(sampler);
    peak = Math.max(peak, router.hwm());
    const { reader } = workers(1);
    const r = reader.run({ op: 'read', pipe: inbox(), count: n, timeoutMs: 600_000 });
    await r.ready;
    const got = ok(await r.done);
    const catchUp = (n / (got.end! - got.start!)) * 1000;
    const after = router.hwm();
    // The inbox reader stays open in the worker: a later run uses another root.
    return { idle, idleCpu, peak: Math.max(peak, after), catchUp, after };
  } finally {
    await router.stop();
  }
}

async function row6(): Promise<void> {
  const variants: Array<[string, string[]]> = [['default flags', []], ['--max-semi-space-size=32', ['--max-semi-space-size=32']]];
  for (const [label, flags] of variants.slice(0, CFG.memVariants)) {
    const xs = [];
    for (let i = 0; i < (QUICK ? 1 : 2); i++) xs.push(await memoryRun(CFG.memN, flags));
    const idle = stat(xs.map((x) => x.idle / 2 ** 20));
    const peakDuringBacklog = stat(xs.map((x) => x.peak / 2 ** 20));
    const growth = stat(xs.map((x) => (x.peak - x.idle) / 2 ** 20));
    const catchUp = stat(xs.map((x) => x.catchUp));
    log(`memory (${label}): idle ${idle.median.toFixed(0)} MB, peak ${peakDuringBacklog.median.toFixed(0)} MB, catch-up ${fmtNum(catchUp.median)}/s`);
    if (label === 'default flags') {
      const idleCpu = stat(xs.map((x) => x.idleCpu * 100));
      figures.push({ row: 6, name: 'router idle RSS, 100 agents', unit: 'MB', value: idle, target: '≤ 50 MB', pass: idle.median <= 50 });
      figures.push({ row: 6, name: `router idle CPU, 100 agents (${QUICK ? 3 : 10} s)`, unit: '% of a core', value: idleCpu, target: '≤ 1 %', pass: idleCpu.median <= 1 });
    }
    figures.push({ row: 6, name: `router peak RSS growth over idle, ${fmtNum(CFG.memN)} backlog, 100 agents (${label})`, unit: 'MB', value: growth, target: '≤ 50 MB', pass: growth.median <= 50, note: `idle ${idle.median.toFixed(0)} MB, peak ${peakDuringBacklog.median.toFixed(0)} MB` });
    figures.push({ row: 6, name: `catch-up of the ${fmtNum(CFG.memN)} backlog (${label})`, unit: 'msg/s', value: catchUp, target: '≥ 100k', pass: catchUp.median >= 100_000 });
  }
}

async function row7(): Promise<void> {
  let base: number | undefined;
  let baseRss: number | undefined;
  for (const pipes of [10, 100, 1000]) {
    const { root, inbox } = await freshRoot();
    const files = Array.from({ length: pipes }, (_, i) => path.join(root, 'agents', `p${i}-to-sink.pipe`));
    mkfifos(files);
    const router = await startRouter(root);
    try {
      await sleep(500);
      const idle = router.rss();
      const tp = await rounds(QUICK ? 1 : CFG.rounds, `scale ${pipes} pipes`, () => throughput({ pipes: [files[0]!], readPipe: inbox(), writers: 1, batch: true, total: CFG.scaleN }));
      const rss = router.hwm();
      base ??= tp.median;
      baseRss ??= rss;
      figures.push({ row: 7, name: `${pipes} pair pipes exist: throughput through one (batched)`, unit: 'msg/s', value: tp, ...(pipes > 10 ? { baseline: { name: '10 pair pipes', value: stat([base]) }, ratio: tp.median / base } : {}), note: `router start ${router.startMs.toFixed(0)} ms` });
      figures.push({ row: 7, name: `${pipes} pair pipes exist: router RSS (idle → peak)`, unit: 'MB', value: stat([rss / 2 ** 20]), note: `idle ${(idle / 2 ** 20).toFixed(0)} MB`, ...(pipes > 10 ? { baseline: { name: '10 pair pipes', value: stat([baseRss / 2 ** 20]) }, ratio: rss / baseRss } : {}) });
    } finally {
      await router.stop();
    }
  }
  // Router start with a big journal, against an empty one.
  const empty = await freshRoot();
  const starts: number[] = [];
  for (let i = 0; i < CFG.rounds; i++) {
    const r = await startRouter(empty.root);
    starts.push(r.startMs);
    await r.stop();
  }
  const { root } = await freshRoot();
  const t = nowMs();
  const end = writeJournal(path.join(root, 'journal'), CFG.journalN);
  fs.writeFileSync(path.join(root, 'state', 'cursors.json'), JSON.stringify({ cursors: { 'inbox:sink': end } }));
  log(`wrote a ${fmtNum(CFG.journalN)}-message journal (${(end / 2 ** 30).toFixed(2)} GiB) in ${((nowMs() - t) / 1000).toFixed(1)} s`);
  const big: number[] = [];
  for (let i = 0; i < CFG.rounds; i++) {
    const r = await startRouter(root);
    big.push(r.startMs);
    await r.stop();
  }
  fs.rmSync(root, { recursive: true, force: true });
  const b = stat(big);
  const e = stat(starts);
  figures.push({ row: 7, name: `router start with a ${fmtNum(CFG.journalN)}-message journal`, unit: 'ms', value: b, baseline: { name: 'empty journal', value: e }, ratio: b.median / e.median });
}

/** Writes `n` journaled envelopes (≈200 bytes each) as 64 MiB segments; returns the end offset. */
function writeJournal(dir: string, n: number): number {
  const ts = new Date().toISOString();
  const pad = 'x'.repeat(200 - 120);
  const lineFor = (i: number): string => `{"id":"${String(i).padStart(26, '0')}","ts":"${ts}","from":"w1","to":"sink","type":"message","body":"${pad}"}\n`;
  let offset = 0;
  let i = 0;
  while (i < n) {
    const parts: string[] = [];
    let size = 0;
    const lineBytes = lineFor(i).length;
    while (i < n && size + lineBytes <= DEFAULT_SEGMENT_BYTES) {
      parts.push(lineFor(i++));
      size += lineBytes;
    }
    fs.writeFileSync(path.join(dir, segmentFileName(offset)), parts.join(''), { mode: 0o600 });
    offset += size;
  }
  return offset;
}

async function row8(): Promise<void> {
  const clis = parseClis(AGENTS_ARG);
  hookResults = await benchHook(AGENT_CFG.hookRuns);
  const node0 = hookResults[0]!;
  for (const v of hookResults.slice(1)) {
    const p = percentiles(v.ms);
    log(`hook, ${v.name}: p50 ${p.p50?.toFixed(0)} ms, p95 ${p.p95?.toFixed(0)} ms, ${v.clean}/${v.ms.length} exit 0 and silent${v.note ? `, ${v.note}` : ''}`);
    const s = stat(v.ms);
    const n = stat(node0.ms);
    figures.push({ row: 8, name: `\`bmad-bus hook\` (JSON on stdin), ${v.name}`, unit: 'ms', value: s, baseline: { name: '`node -e 0`', value: n }, ratio: s.median / n.median, note: `p95 ${percentiles(v.ms).p95!.toFixed(0)} ms; ${v.clean}/${v.ms.length} exit 0, output as expected${v.note ? `; ${v.note}` : ''}` });
  }
  if (HOOK_ONLY) return;
  const { found, missing } = installedClis(clis);
  if (found.length === 0) {
    agentsSkipped = `no agent CLI installed (${missing.map((m) => m.cli).join(', ')}): install them with \`node test/agents/install-agents.mjs\` (about 1 GB into ${missing[0]?.why.match(/no (\S+)\/[^/]+\/bmad-agent\.json/)?.[1] ?? '~/.cache/bmad-bus/agents'})`;
    log(`agents: skipped: ${agentsSkipped}`);
    figures.push({ row: 8, name: 'real agent CLIs: send → user turn, msgs/min at a 3 s model', unit: '', unavailable: agentsSkipped });
    return;
  }
  for (const m of missing) log(`agents: ${m.cli} skipped: ${m.why}`);
  log(`agents: ${found.join(', ')}; ${AGENT_CFG.idle} messages one at a time into the idle agent, a burst of ${AGENT_CFG.burst} into a ${AGENT_CFG.slowSeconds} s model, per method`);
  agentResults = await benchAgentDelivery({ clis, latencySamples: AGENT_CFG.idle, burst: AGENT_CFG.burst, slowSeconds: AGENT_CFG.slowSeconds, log });
  for (const c of agentResults) {
    if (c.skipped) {
      figures.push({ row: 8, name: `${c.cli}: agent delivery`, unit: '', unavailable: c.skipped });
      continue;
    }
    const by = Object.fromEntries(c.methods.map((m) => [m.method, m]));
    const bus = by['bmad-bus']!;
    const old = by['readline']!;
    const keys = by['send-keys']!;
    const own = (m: typeof bus) => `${m.latencyOwn}/${m.latencySent}`;
    const p95 = (m: typeof bus) => (m.latencyMs.length ? `${percentiles(m.latencyMs).p95!.toFixed(0)} ms` : '–');
    const lat = (m: typeof bus) => (m.latencyMs.length ? stat(m.latencyMs) : undefined);
    figures.push({
      row: 8,
      name: `${c.cli} ${c.version}: \`send\` → user turn at the model, idle agent (median = p50)`,
      unit: 'ms',
      ...(lat(bus) ? { value: lat(bus)! } : { unavailable: bus.error ?? `no message arrived as its own turn (${own(bus)})` }),
      baseline: { name: 'old default (--profile readline)', ...(lat(old) ? { value: lat(old)! } : { unavailable: old.error ?? `no own turn (${own(old)})` }) },
      ...(lat(bus) && lat(old) ? { ratio: lat(bus)!.median / lat(old)!.median } : {}),
      note: `p95 ${p95(bus)}, ${own(bus)} own turns; readline p95 ${p95(old)}, ${own(old)} own turns; send-keys p50 ${lat(keys) ? `${percentiles(keys.latencyMs).p50!.toFixed(0)} ms` : '–'}, ${own(keys)} own turns`,
    });
    const burst = (m: typeof bus) => `${m.burstOwn}/${m.burstSent} own turns${m.burstInOrder ? '' : ' (out of order)'}, ${m.burstWrongTurns} other, ${m.burstLost} lost, in ${m.burstRequests} requests`;
    // A method that lost messages has no rate: its lost messages would otherwise make it look fast.
    const rate = (m: typeof bus) => m.burstSent > 0 && m.burstLost === 0 && !m.error;
    figures.push({
      row: 8,
      name: `${c.cli} ${c.version}: messages per minute into a ${AGENT_CFG.slowSeconds} s-a-turn model (burst of ${AGENT_CFG.burst})`,
      unit: 'msg/min',
      ...(rate(bus) ? { value: stat([bus.perMinute]) } : { unavailable: bus.error ?? (bus.burstLost ? `${bus.burstLost}/${bus.burstSent} never reached the model` : 'not run') }),
      baseline: { name: 'old default (--profile readline)', ...(rate(old) ? { value: stat([old.perMinute]) } : { unavailable: old.error ?? (old.burstLost ? `${old.burstLost}/${old.burstSent} never reached the model` : 'not run') }) },
      ...(rate(bus) && rate(old) && old.perMinute > 0 ? { ratio: bus.perMinute / old.perMinute } : {}),
      note: `${burst(bus)}; readline ${burst(old)}; send-keys ${rate(keys) ? `${keys.perMinute.toFixed(1)}/min` : 'no rate'}, ${burst(keys)}; unconfirmed events ${bus.unconfirmed ?? '–'} / readline ${old.unconfirmed ?? '–'}`,
    });
  }
}

async function row9(): Promise<void> {
  const r = await benchBridge({
    ...BRIDGE_CFG,
    rounds: CFG.rounds,
    latRounds: CFG.latRounds,
    log,
    workers: () => {
      const { reader, writers } = workers(1);
      return { reader, writer: writers[0]! };
    },
  });
  if (r.skipped) {
    log(`bridge: skipped: ${r.skipped}`);
    figures.push({ row: 9, name: 'bridge: bus A → NATS JetStream → bus B', unit: '', unavailable: `row skipped: ${r.skipped}` });
    return;
  }
  const us = (xs: number[]): string => stat(xs).median.toFixed(0);
  const cpu = `CPU per message (µs): bridge ma ${us(r.cpu.bridge.ma)}, bridge mb ${us(r.cpu.bridge.mb)}, routers A+B ${us(r.cpu.bridge.routers)}, nats-server ${us(r.cpu.bridge.nats)}; raw publisher ${us(r.cpu.raw.publisher)}, consumer ${us(r.cpu.raw.consumer)}, nats-server ${us(r.cpu.raw.nats)}`;
  const note = [cpu, ...r.notes].join('; ');
  const tp = stat(r.throughput.bridge);
  const raw = stat(r.throughput.raw);
  figures.push({
    row: 9, name: `bridge throughput, ${fmtNum(BRIDGE_CFG.n)} msgs: A's bus.pipe (1 writer, batched) → bridge → NATS → bridge → read from B's inbox`, unit: 'msg/s', value: tp,
    baseline: { name: `raw JetStream: publish with ack (≤256 in flight) → file stream → durable pull consume() + ack`, value: raw },
    ratio: tp.median / raw.median, target: '≥ 0.5×', pass: tp.median / raw.median >= 0.5, note,
  });
  const q = (xs: BridgeLatency[], k: 'p50' | 'p99' | 'p999' | 'max'): Stat => stat(xs.map((x) => x[k]));
  for (const k of ['p50', 'p99'] as const) {
    const bus = q(r.latency.bridge, k);
    const js = q(r.latency.raw, k);
    figures.push({
      row: 9, name: `bridge latency ${k} at ${fmtNum(BRIDGE_CFG.rate)} msg/s for ${BRIDGE_CFG.seconds} s: write into A's bus.pipe → read from B's inbox`, unit: 'ms', value: bus,
      baseline: { name: 'raw JetStream publish → consume() at the same rate', value: js }, ratio: bus.median / js.median,
      ...(k === 'p99' ? { target: '≤ 10 ms', pass: bus.median <= 10 } : {}),
      note: `of which A → NATS (the publish of A's bridge at the server) ${k} ${q(r.latency.published, k).median.toFixed(2)} ms${k === 'p99' ? `; p99.9 ${q(r.latency.bridge, 'p999').median.toFixed(1)} ms, max ${q(r.latency.bridge, 'max').median.toFixed(1)} ms; raw p99.9 ${q(r.latency.raw, 'p999').median.toFixed(1)} ms, max ${q(r.latency.raw, 'max').median.toFixed(1)} ms` : ''}`,
    });
  }
}

// ---- output ------------------------------------------------------------------

function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (Math.abs(x) >= 1e4) return `${(x / 1e3).toFixed(0)}k`;
  if (Math.abs(x) >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  if (Math.abs(x) >= 10) return x.toFixed(0);
  if (Math.abs(x) >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

function fmtStat(s: Stat | undefined, unit: string): string {
  if (!s) return '–';
  const u = unit === 'msg/s' ? '/s' : unit === 'msg/min' ? '/min' : ` ${unit}`;
  return s.n > 1 && s.max !== s.min ? `${fmtNum(s.median)}${u} (${fmtNum(s.min)}–${fmtNum(s.max)})` : `${fmtNum(s.median)}${u}`;
}

function printTable(): void {
  const header = ['#', 'figure', 'bmad-bus median (min–max)', 'baseline', 'baseline median (min–max)', 'ratio', 'target', ''];
  const rows = figures.map((f) => [
    String(f.row),
    f.name + (f.note ? ` — ${f.note}` : ''),
    f.unavailable ? `unavailable: ${f.unavailable}` : fmtStat(f.value, f.unit),
    f.baseline?.name ?? '',
    f.baseline ? (f.baseline.unavailable ? `unavailable: ${f.baseline.unavailable}` : fmtStat(f.baseline.value, f.unit)) : '',
    f.ratio !== undefined ? `${f.ratio.toFixed(2)}×` : '',
    f.target ?? '',
    f.pass === undefined ? '' : f.pass ? '✓' : '✗',
  ]);
  const lines = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
  console.log(lines.join('\n'));
  if (unavailable.length > 0) {
    console.log('');
    for (const u of unavailable) console.log(`- ${u.what} unavailable: ${u.why}`);
  }
}

// ---- main ---------------------------------------------------------------------

const ROWS: Array<[number, string, () => Promise<void>]> = [
  [1, 'throughput', row1],
  [2, 'latency', row2],
  [3, 'durability', row3],
  [4, 'tmux injection', row4],
  [5, 'CLI', row5],
  [6, 'memory', row6],
  [7, 'scale', row7],
  [8, 'real agent CLIs and `bmad-bus hook`', row8],
  [9, 'bridge (two buses through NATS JetStream)', row9],
];

const started = Date.now();
log(`${QUICK ? 'quick' : 'full'} run on ${os.cpus().length} cores, node ${process.version}`);
for (const [n, name, f] of ROWS) {
  if (ONLY && !ONLY.has(n)) continue;
  log(`row ${n}: ${name}`);
  try {
    await f();
  } catch (error) {
    log(`row ${n} failed: ${(error as Error).stack}`);
    figures.push({ row: n, name, unit: '', unavailable: (error as Error).message.split('\n')[0]! });
  }
}
for (const s of [nats, redis]) if (typeof s === 'object') await s.stop();
await stopPeers();
for (const w of pool) w.close();
pool = [];
const seconds = (Date.now() - started) / 1000;
if (JSON_OUT) {
  const agents = hookResults || agentResults || agentsSkipped ? { counts: AGENT_CFG, hook: hookResults, clis: agentResults, skipped: agentsSkipped } : undefined;
  console.log(JSON.stringify({ mode: QUICK ? 'quick' : 'full', node: process.version, cores: os.cpus().length, seconds, counts: CFG, figures, unavailable, ...(agents ? { agents } : {}) }, null, 2));
} else {
  printTable();
  if (hookResults) console.log(`\n${hookTable(hookResults)}`);
  if (agentResults) console.log(`\nReal agent CLIs, offline against the fake model, after one warm-up turn (${AGENT_CFG.idle} messages one at a time into an idle agent; then a burst of ${AGENT_CFG.burst} into a model that takes ${AGENT_CFG.slowSeconds} s a turn; "own turns": arrived as exactly their own user turn; "model requests": the requests that carried the burst's turns — fewer than own turns means the CLI queued them and the model answered them together):\n\n${agentTable(agentResults, AGENT_CFG)}`);
  if (agentsSkipped) console.log(`\nReal agent CLIs skipped: ${agentsSkipped}`);
  console.log(`\n${QUICK ? 'quick' : 'full'} run, ${os.cpus().length} cores, node ${process.version}, ${seconds.toFixed(0)} s`);
}
killAll();
process.exit(0);
